//! A process run on a real pseudo-terminal, as a person runs it (issue 13 item 7): its stdin,
//! stdout and stderr are the pty's terminal side, so `IsTerminal` is true for each; the test
//! holds the other side, reads everything the process prints (in the order a person sees it)
//! and types answers only once the process has asked.
//!
//! Invariants: the test keeps no descriptor of the terminal side once the child runs, so the
//! reader sees end-of-output (Linux: `EIO`) when the child exits; output is read continuously
//! on a thread, so a child that prints a lot never blocks on a full pty buffer; the terminal's
//! `\r\n` (ONLCR) is shown as `\n`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;

/// How long [`Pty::wait_for`] waits before it gives up: a safety net against a hung test on a
/// loaded machine, never a measure of speed.
const GIVE_UP: Duration = Duration::from_secs(120);

/// A child process whose terminal is a pty this test controls.
pub struct Pty {
    child: Child,
    /// The controlling side: what is typed goes in here.
    master: File,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Pty {
    /// Spawns `cmd` with its three standard streams on a new pseudo-terminal.
    pub fn spawn(mut cmd: Command) -> Pty {
        let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)
            .expect("open a pseudo-terminal");
        rustix::pty::grantpt(&master).expect("grantpt");
        rustix::pty::unlockpt(&master).expect("unlockpt");
        let name = rustix::pty::ptsname(&master, Vec::new()).expect("ptsname");
        let terminal: OwnedFd = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .expect("open the terminal side of the pty");
        let stream = || Stdio::from(terminal.try_clone().expect("dup the terminal side"));
        cmd.stdin(stream()).stdout(stream()).stderr(stream());
        let child = cmd.spawn().expect("spawn on the pty");
        // The child holds the terminal side now; ours (and the command's copies) must close,
        // or the reader would never see the end of the output.
        drop(cmd);
        drop(terminal);
        let master = File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let mut master = master.try_clone().expect("dup the pty");
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                // Linux answers EIO once no process holds the terminal side: the end.
                while let Ok(n @ 1..) = master.read(&mut buf) {
                    output.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        Pty {
            child,
            master,
            output,
            reader: Some(reader),
        }
    }

    /// Everything printed so far, `\r\n` shown as `\n`.
    pub fn screen(&self) -> String {
        let bytes = self.output.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }

    /// Waits until the screen shows `text` (panics, with the screen, if the process ends or
    /// [`GIVE_UP`] passes first); returns the screen.
    pub fn wait_for(&mut self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                // Let the reader drain what the child printed last.
                if let Some(reader) = self.reader.take() {
                    reader.join().expect("pty reader");
                }
                let screen = self.screen();
                if screen.contains(text) {
                    return screen;
                }
                panic!("the process ended ({status}) without printing {text:?}:\n{screen}");
            }
            assert!(
                start.elapsed() < GIVE_UP,
                "no {text:?} after {GIVE_UP:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Types `text` on the terminal.
    pub fn type_in(&mut self, text: &str) {
        self.master
            .write_all(text.as_bytes())
            .expect("type on the pty");
        self.master.flush().expect("flush the pty");
    }

    /// Waits for the process to end; its exit status and everything it printed.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().expect("wait for the child");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("pty reader");
        }
        (status, self.screen())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // A test that panicked leaves no process behind.
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
