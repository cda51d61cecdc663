#!/usr/bin/env python3
"""Checks the images the manifests run against docker/ and against the built binaries.

No image can be built here (no container engine, no image registry), so this holds the
Dockerfiles and the manifests to each other and to the real command lines:

  - every `lnfleet/<name>` image has `docker/<name>.Dockerfile` and a `.dockerignore` beside it
    that keeps `target` out of the build context;
  - the Dockerfile is multi-stage, its final stage is `FROM scratch` holding only the binary its
    build stage compiles (`--bin`) and the CA certificates, it runs as a numeric non-root
    `USER`, and its `ENTRYPOINT` is that binary;
  - each container running the image runs as that uid and gid, as non-root, with a read-only
    root filesystem, and listens only on ports the image `EXPOSE`s (and every exposed port is
    used by some container);
  - every `--flag` in a container's `args` is an option of the binary (`<bin> --help` of the
    binary built from this tree), and a value is one of its possible values where it lists them.

Usage: k8s_images_check.py DOCKER_DIR BIN_DIR RENDERED.yaml...
"""

import re
import subprocess
import sys
from pathlib import Path

import yaml

IMAGE = re.compile(r"^lnfleet/([a-z0-9-]+):")
HELP_OPTION = re.compile(r"^\s+(?:-\w, )?(--[a-z0-9-]+)")
POSSIBLE = re.compile(r"\[possible values: ([^\]]+)\]")
VARIABLE = re.compile(r"\$\((\w+)\)")


class Dockerfile:
    def __init__(self, path):
        self.path = path
        text = path.read_text()
        # Join continuation lines, drop comments.
        lines = []
        for line in text.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
        self.stages = []
        for line in lines:
            instruction, _, rest = line.partition(" ")
            instruction = instruction.upper()
            if instruction == "FROM":
                self.stages.append({"from": rest.split()[0], "lines": []})
            elif self.stages:
                self.stages[-1]["lines"].append((instruction, rest.strip()))

    def final(self, instruction):
        return [rest for ins, rest in self.stages[-1]["lines"] if ins == instruction]

    def built_binary(self):
        for stage in self.stages[:-1]:
            for ins, rest in stage["lines"]:
                match = re.search(r"--bin\s+([a-z0-9-]+)", rest) if ins == "RUN" else None
                if match:
                    return match.group(1)
        return None


def containers(objects):
    """(object description, pod spec, container) for every container of a pod template."""
    for obj in objects:
        spec = (obj.get("spec") or {}).get("template", {}).get("spec")
        if not spec:
            continue
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            yield name, spec, container


def config_maps(objects):
    return {
        obj["metadata"]["name"]: obj.get("data") or {}
        for obj in objects
        if obj.get("kind") == "ConfigMap"
    }


def environment(container, maps):
    """What `$(VAR)` in args expands to, where the manifests say (configmap or literal env)."""
    env = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef", {}).get("name")
        env.update({k: v for k, v in maps.get(ref, {}).items() if isinstance(v, str)})
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
    return env


def help_options(binary):
    """{--flag: [possible values] or None} from `binary --help`."""
    out = subprocess.run([str(binary), "--help"], capture_output=True, text=True, check=True)
    options, current = {}, None
    for line in out.stdout.splitlines():
        match = HELP_OPTION.match(line)
        if match:
            current = match.group(1)
            options[current] = None
        if current:
            values = POSSIBLE.search(line)
            if values:
                options[current] = [v.strip() for v in values.group(1).split(",")]
    return options


def check_dockerfile(dockerfile, failures):
    path = dockerfile.path
    if len(dockerfile.stages) < 2:
        failures.append(f"{path}: not multi-stage")
        return None
    if dockerfile.stages[-1]["from"] != "scratch":
        failures.append(f"{path}: the final stage is not FROM scratch")
    binary = dockerfile.built_binary()
    if binary is None:
        failures.append(f"{path}: no `cargo build ... --bin NAME` in a build stage")
        return None
    copies = dockerfile.final("COPY")
    wanted = {
        "--from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
        f"--from=build /{binary} /usr/local/bin/{binary}",
    }
    if set(copies) != wanted:
        failures.append(f"{path}: the final stage copies {copies}, wanted exactly {sorted(wanted)}")
    if dockerfile.final("RUN"):
        failures.append(f"{path}: the final stage runs commands")
    users = dockerfile.final("USER")
    uid_gid = None
    if len(users) != 1 or not re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[0]):
        failures.append(f"{path}: wants one numeric non-root USER uid:gid, has {users}")
    else:
        uid_gid = tuple(int(x) for x in users[0].split(":"))
    if dockerfile.final("ENTRYPOINT") != [f'["/usr/local/bin/{binary}"]']:
        failures.append(f"{path}: ENTRYPOINT is not the binary {binary}")
    exposed = {int(p.split("/")[0]) for e in dockerfile.final("EXPOSE") for p in e.split()}
    ignore = path.with_name(path.name + ".dockerignore")
    if not ignore.exists() or "target" not in ignore.read_text().split():
        failures.append(f"{ignore}: missing, or does not keep `target` out of the context")
    return {"binary": binary, "user": uid_gid, "exposed": exposed}


def check_container(where, pod, container, image, env, failures):
    pod_security = pod.get("securityContext") or {}
    security = {**pod_security, **(container.get("securityContext") or {})}
    uid, gid = security.get("runAsUser"), security.get("runAsGroup")
    if image["user"] and (uid, gid) != image["user"]:
        failures.append(f"{where}: runs as {uid}:{gid}, the image's USER is {image['user']}")
    if security.get("runAsNonRoot") is not True:
        failures.append(f"{where}: runAsNonRoot is not true")
    if security.get("readOnlyRootFilesystem") is not True:
        failures.append(f"{where}: the root filesystem is not read-only")
    ports = {p["containerPort"] for p in container.get("ports", [])}
    if not ports <= image["exposed"]:
        failures.append(f"{where}: ports {sorted(ports - image['exposed'])} not EXPOSEd")
    for arg in container.get("args", []) + container.get("command", [])[1:]:
        if not arg.startswith("--"):
            continue
        flag, has_value, value = arg.partition("=")
        if flag not in image["options"]:
            failures.append(f"{where}: {image['binary']} has no option {flag}")
            continue
        allowed = image["options"][flag]
        if has_value and allowed:
            value = VARIABLE.sub(lambda m: env.get(m.group(1), m.group(0)), value)
            if "$(" not in value and value not in allowed:
                failures.append(f"{where}: {flag}={value}, possible values {allowed}")
    return ports


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    docker_dir, bin_dir = Path(argv[1]), Path(argv[2])
    failures, checked = [], 0
    for rendered in argv[3:]:
        objects = [o for o in yaml.safe_load_all(Path(rendered).read_text()) if o]
        maps = config_maps(objects)
        images, used_ports = {}, {}
        for where, pod, container in containers(objects):
            match = IMAGE.match(container.get("image", ""))
            if not match:
                continue
            name = match.group(1)
            if name not in images:
                dockerfile = docker_dir / f"{name}.Dockerfile"
                if not dockerfile.exists():
                    failures.append(f"{rendered}: {where} runs lnfleet/{name}, no {dockerfile}")
                    continue
                image = check_dockerfile(Dockerfile(dockerfile), failures)
                if image is None:
                    continue
                binary = bin_dir / image["binary"]
                if not binary.exists():
                    failures.append(f"{binary}: not built (run cargo build first)")
                    continue
                image["options"] = help_options(binary)
                images[name] = image
            image = images[name]
            env = environment(container, maps)
            ports = check_container(f"{rendered}: {where}", pod, container, image, env, failures)
            used_ports.setdefault(name, set()).update(ports)
            checked += 1
        for name, image in images.items():
            unused = image["exposed"] - used_ports.get(name, set())
            if unused:
                failures.append(f"{rendered}: lnfleet/{name} exposes {sorted(unused)}, no container uses them")
    for failure in failures:
        print(f"FAIL {failure}")
    if failures:
        return 1
    print(f"images: {checked} containers match their Dockerfiles and their binaries' options")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
