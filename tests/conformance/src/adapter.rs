//! The client under test: an adapter process driven with JSON lines (`PROTOCOL.md`).
//!
//! Every answer is awaited with a timeout; a silent, crashed or chatty adapter fails the
//! scenario instead of hanging the runner, and the process is killed when the handle drops.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Lines of the adapter's stderr kept for failure reports.
const STDERR_TAIL: usize = 8;

/// How to start an adapter: an executable and its working directory.
#[derive(Clone, Debug)]
pub struct AdapterCommand {
    /// The executable (a script or a binary).
    pub program: PathBuf,
    /// Its working directory (the repository root for `tests/conformance/adapters/*`).
    pub dir: PathBuf,
}

impl AdapterCommand {
    /// `program`, run from the repository root.
    pub fn new(program: impl Into<PathBuf>) -> AdapterCommand {
        AdapterCommand {
            program: program.into(),
            dir: repo_root(),
        }
    }

    /// The adapter called `name`: `tests/conformance/adapters/<name>` (a name with a `/` is a
    /// path, taken as is).
    pub fn named(name: &str) -> AdapterCommand {
        if name.contains('/') {
            return AdapterCommand::new(name);
        }
        AdapterCommand::new(repo_root().join("tests/conformance/adapters").join(name))
    }
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or(here)
}

/// A running adapter process.
pub struct Adapter {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    next_id: u64,
}

impl Adapter {
    /// Starts the adapter with piped stdin/stdout/stderr.
    pub fn spawn(cmd: &AdapterCommand) -> Result<Adapter, String> {
        let mut child = Command::new(&cmd.program)
            .current_dir(&cmd.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start adapter {}: {e}", cmd.program.display()))?;
        let stdout = child.stdout.take().ok_or("adapter has no stdout")?;
        let stderr_pipe = child.stderr.take().ok_or("adapter has no stderr")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines() {
                let Ok(line) = line else { break };
                let mut t = tail.lock().unwrap_or_else(PoisonError::into_inner);
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
        Ok(Adapter {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            next_id: 1,
        })
    }

    /// Sends `cmd` (an object; its `id` is set here) and waits up to `timeout` for the answer.
    /// `Ok` holds the answer when `ok` is true; an `ok: false` answer is an `Err` with its
    /// message.
    pub fn request(&mut self, mut cmd: Value, timeout: Duration) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        cmd["id"] = json!(id);
        let what = cmd
            .get("cmd")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let answer = self.exchange(&cmd.to_string(), timeout)?;
        if answer.get("id") != Some(&json!(id)) {
            return Err(format!(
                "adapter answered {what} (id {id}) with id {}",
                answer.get("id").unwrap_or(&Value::Null)
            ));
        }
        match answer.get("ok") {
            Some(Value::Bool(true)) => Ok(answer),
            Some(Value::Bool(false)) => Err(format!(
                "adapter refused {what}: {}",
                answer
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("(no error message)")
            )),
            _ => Err(format!(
                "adapter answered {what} without a boolean ok: {answer}"
            )),
        }
    }

    /// Writes one raw line and reads one answer line as JSON (for protocol self-tests).
    pub fn exchange(&mut self, line: &str, timeout: Duration) -> Result<Value, String> {
        let stdin = self.stdin.as_mut().ok_or("adapter stdin is closed")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("adapter stdin: {e} (it exited?){}", self.stderr_note()))?;
        let deadline = Instant::now() + timeout;
        match self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(answer) => serde_json::from_str(&answer)
                .map_err(|e| format!("adapter wrote a line that is not JSON ({e}): {answer:.200}")),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                Err(format!(
                    "adapter did not answer within {} ms (killed){}",
                    timeout.as_millis(),
                    self.stderr_note()
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(format!(
                    "adapter closed its stdout ({status}){}",
                    self.stderr_note()
                ))
            }
        }
    }

    /// Sends `close`, then waits briefly for the process to exit (killing it if it does not).
    pub fn close(mut self, timeout: Duration) -> Result<(), String> {
        let answer = self.request(json!({"cmd": "close"}), timeout);
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return answer.map(|_| ());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        answer.and(Err("adapter did not exit after close".to_string()))
    }

    /// Whether the process has exited (after stdin closed, for example).
    pub fn exited_within(&mut self, timeout: Duration) -> bool {
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// The last lines the adapter wrote to stderr, as a suffix for error messages.
    fn stderr_note(&self) -> String {
        let t = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        if t.is_empty() {
            String::new()
        } else {
            let lines: Vec<&str> = t.iter().map(String::as_str).collect();
            format!("; adapter stderr: {}", lines.join(" | "))
        }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        self.stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
