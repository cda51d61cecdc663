//! Real servers for tests: each starts on a free loopback port in its own temporary directory and
//! is killed by pid when its handle drops, panics included. When `LNFLEET_TEST_PIDDIR` is set
//! (scripts/test.sh does), every pid is also written there so the script can stop leftovers of a
//! test process that was itself killed.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{what} not found at {path}: run scripts/setup.sh (or set {env})")]
    MissingBinary {
        what: &'static str,
        path: PathBuf,
        env: &'static str,
    },
    #[error("starting {what}: {source}")]
    Spawn {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{what} did not become ready within {secs}s; its log:\n{log}")]
    NotReady {
        what: &'static str,
        secs: u64,
        log: String,
    },
    #[error("{what} exited early ({status}); its log:\n{log}")]
    Exited {
        what: &'static str,
        status: std::process::ExitStatus,
        log: String,
    },
    #[error("io: {0}")]
    Io(#[from] io::Error),
}

/// A free TCP port on 127.0.0.1 (the OS picks it; a tiny race with other processes remains).
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where setup.sh puts its cache.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LNFLEET_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/lnfleet")
}

fn binary(
    env: &'static str,
    what: &'static str,
    default: PathBuf,
) -> Result<PathBuf, HarnessError> {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or(default);
    if path.is_file() {
        return Ok(path);
    }
    Err(HarnessError::MissingBinary { what, path, env })
}

fn in_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(name))
}

/// A child process killed (by pid) and reaped on drop.
pub struct ServerProcess {
    what: &'static str,
    child: Child,
    log_path: PathBuf,
    pid_file: Option<PathBuf>,
}

impl ServerProcess {
    /// Spawns `command` with stdout and stderr going to `log_path`.
    pub fn spawn(
        what: &'static str,
        mut command: Command,
        log_path: PathBuf,
    ) -> Result<Self, HarnessError> {
        let log = std::fs::File::create(&log_path)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|source| HarnessError::Spawn { what, source })?;
        let pid_file = std::env::var_os("LNFLEET_TEST_PIDDIR").map(|dir| {
            let path = PathBuf::from(dir).join(format!("{}.pid", child.id()));
            // Best effort: the pid file only helps clean up after a killed test process.
            let _ = std::fs::write(&path, child.id().to_string());
            path
        });
        Ok(ServerProcess {
            what,
            child,
            log_path,
            pid_file,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Polls `ready` until it returns true, failing early if the process exits.
    pub fn wait_ready(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(HarnessError::Exited {
                    what: self.what,
                    status,
                    log: self.log(),
                });
            }
            if ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(HarnessError::NotReady {
                    what: self.what,
                    secs: timeout.as_secs(),
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(path) = &self.pid_file {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn accepts_connections(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// A `redis-server` with persistence off, on a free port.
pub struct RedisServer {
    process: ServerProcess,
    port: u16,
    _dir: TempDir,
}

impl RedisServer {
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_on(free_port()?)
    }

    pub fn start_on(port: u16) -> Result<Self, HarnessError> {
        let redis = binary(
            "LNFLEET_REDIS_SERVER",
            "redis-server",
            in_path("redis-server"),
        )?;
        let dir = tempfile::tempdir()?;
        let mut command = Command::new(redis);
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path());
        let mut process =
            ServerProcess::spawn("redis-server", command, dir.path().join("redis.log"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        process.wait_ready(Duration::from_secs(20), || redis_pings(addr))?;
        Ok(RedisServer {
            process,
            port,
            _dir: dir,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

fn redis_pings(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A tansu Kafka-protocol broker with the sqlite storage engine, on a free port.
pub struct KafkaBroker {
    process: ServerProcess,
    port: u16,
    dir: TempDir,
}

impl KafkaBroker {
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_on(free_port()?)
    }

    pub fn start_on(port: u16) -> Result<Self, HarnessError> {
        let tansu = binary(
            "LNFLEET_TANSU",
            "tansu broker",
            cache_dir().join("tansu-0.6.0/bin/tansu"),
        )?;
        let dir = tempfile::tempdir()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let mut command = Command::new(tansu);
        command
            .current_dir(dir.path())
            .arg("broker")
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .env("RUST_LOG", "warn");
        let mut process = ServerProcess::spawn("tansu", command, dir.path().join("tansu.log"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        process.wait_ready(Duration::from_secs(60), || accepts_connections(addr))?;
        Ok(KafkaBroker { process, port, dir })
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}
