#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests (multi-document YAML files) offline.

Built-in kinds are checked against the Kubernetes OpenAPI schema kubernetes-validate ships for
KUBERNETES_VERSION, strictly (unknown fields are errors). Custom resources are checked against the
openAPIV3Schema of their CRD, vendored in k8s/schemas/ as <group>_<version>_<Kind>.json, also
strictly: an object schema that lists properties and does not say otherwise admits no others
(the API server would drop such fields, or refuse them under strict field validation).
An object of a kind with neither schema is an error, so nothing passes unchecked.

Also checks that every lnfleet_* metric the rules or the dashboard query is listed in
docs/metrics.md.

Usage: k8s_validate.py SCHEMA_DIR METRICS_DOC RENDERED.yaml...
"""

import copy
import json
import re
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.37.0"


def strict_crd_schema(schema):
    """A copy of a CRD schema in which listed properties are the only ones allowed."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    # The top level's metadata is checked by the API server, not by the CRD.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return schema


def load_crd_schemas(schema_dir):
    schemas = {}
    for path in sorted(Path(schema_dir).glob("*.json")):
        group, version, kind = path.stem.split("_")
        schemas[(f"{group}/{version}", kind)] = strict_crd_schema(json.loads(path.read_text()))
    return schemas


def describe(obj):
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{meta.get('name')} ({obj.get('apiVersion')})"


def validate_object(obj, crd_schemas):
    """Error messages for one object (empty when it is valid)."""
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key in crd_schemas:
        validator = jsonschema.Draft7Validator(crd_schemas[key])
        return [
            f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(str(p) for p in error.path) or '<root>'}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return ["no schema: neither a Kubernetes kind nor a vendored custom resource"]
    return []


METRIC = re.compile(r"\blnfleet_[a-z0-9_]+")
# Series Prometheus derives from a histogram's name.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
HISTOGRAM_UNITS = ("_seconds", "_bytes")


def queried_metrics(objects):
    """Every lnfleet_* name in rule expressions and dashboard queries, histogram suffixes off."""
    names = set()
    for obj in objects:
        if obj.get("kind") == "PrometheusRule":
            for group in obj["spec"]["groups"]:
                for rule in group["rules"]:
                    names.update(METRIC.findall(rule["expr"]))
        if obj.get("kind") == "ConfigMap":
            for text in (obj.get("data") or {}).values():
                if text.lstrip().startswith("{"):
                    for panel in json.loads(text).get("panels", []):
                        for target in panel.get("targets", []):
                            names.update(METRIC.findall(target.get("expr", "")))
    return {histogram_name(name) for name in names}


def histogram_name(series):
    """`x_seconds_bucket` -> `x_seconds`; other names unchanged."""
    for unit in HISTOGRAM_UNITS:
        for suffix in HISTOGRAM_SUFFIXES:
            if series.endswith(unit + suffix):
                return series[: -len(suffix)]
    return series


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    crd_schemas = load_crd_schemas(argv[1])
    documented = set(METRIC.findall(Path(argv[2]).read_text()))
    failures = 0
    for rendered in argv[3:]:
        objects = [doc for doc in yaml.safe_load_all(Path(rendered).read_text()) if doc]
        if not objects:
            print(f"FAIL {rendered}: no objects")
            failures += 1
        for obj in objects:
            errors = validate_object(obj, crd_schemas)
            for error in errors:
                print(f"FAIL {rendered}: {describe(obj)}: {error}")
            failures += bool(errors)
        for name in sorted(queried_metrics(objects) - documented):
            print(f"FAIL {rendered}: {name} is queried but not in {argv[2]}")
            failures += 1
        if failures == 0:
            print(f"ok   {rendered}: {len(objects)} objects valid (Kubernetes {KUBERNETES_VERSION})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
