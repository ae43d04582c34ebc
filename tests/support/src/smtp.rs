//! A real SMTP server for tests: Python's aiosmtpd, delivering into a Maildir that tests read.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::net::{free_port, wait_for_port};
use crate::process::{ChildProcess, remove_at_exit};

/// An SMTP server owned by the test process.
#[derive(Debug)]
pub struct Smtp {
    port: u16,
    maildir: PathBuf,
    _server: ChildProcess,
}

/// One delivered message, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    /// The plain-text body, transfer encoding removed.
    pub body: String,
}

impl Mail {
    /// The first `http(s)://` link in the body that contains `fragment`.
    pub fn link_containing(&self, fragment: &str) -> Option<String> {
        self.body
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| c == '<' || c == '>' || c == '"' || c == '.'))
            .find(|w| {
                (w.starts_with("http://") || w.starts_with("https://")) && w.contains(fragment)
            })
            .map(str::to_string)
    }
}

impl Smtp {
    /// The server shared by every test of this binary; started on first use.
    pub fn shared() -> &'static Smtp {
        static SHARED: OnceLock<Smtp> = OnceLock::new();
        SHARED.get_or_init(Smtp::start_new)
    }

    pub fn start_new() -> Smtp {
        Self::start_with_handler(None)
    }

    /// A real SMTP server that answers every recipient with `550` (a mailbox that refuses
    /// mail), so senders see each delivery fail.
    pub fn start_refusing() -> Smtp {
        Self::start_with_handler(Some(
            "class Refuse:\n\
             \x20   async def handle_RCPT(self, server, session, envelope, address, rcpt_options):\n\
             \x20       return '550 5.7.1 this test server refuses all mail'\n",
        ))
    }

    fn start_with_handler(refusing_handler: Option<&str>) -> Smtp {
        let root = tempfile::Builder::new()
            .prefix("auth-test-smtp-")
            .tempdir()
            .expect("create a temp dir for SMTP")
            .keep();
        remove_at_exit(root.clone());
        let maildir = root.join("Maildir");
        let port = free_port();
        let mut command = Command::new(python());
        command.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")]);
        match refusing_handler {
            Some(source) => {
                std::fs::write(root.join("refusing_handler.py"), source)
                    .expect("write the SMTP handler");
                command
                    .env("PYTHONPATH", &root)
                    .args(["-c", "refusing_handler.Refuse"]);
            }
            None => {
                command
                    .args(["-c", "aiosmtpd.handlers.Mailbox"])
                    .arg(&maildir);
            }
        }
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let server = ChildProcess::spawn("aiosmtpd", command, None, libc::SIGTERM)
            .expect("start aiosmtpd (pip install aiosmtpd)");
        assert!(
            wait_for_port(port, Duration::from_secs(20)),
            "aiosmtpd did not listen on {port}; is it installed (pip install aiosmtpd)?"
        );
        Smtp {
            port,
            maildir,
            _server: server,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message delivered so far to `to` (case-insensitive), oldest first.
    pub fn messages_to(&self, to: &str) -> Vec<Mail> {
        let mut found: Vec<((Option<u64>, std::time::SystemTime), Mail)> = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(raw) = std::fs::read(entry.path()) else {
                    continue;
                };
                let Some(mail) = parse(&raw) else { continue };
                if mail
                    .to
                    .to_ascii_lowercase()
                    .contains(&to.to_ascii_lowercase())
                {
                    let modified = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    let number = delivery_number(&entry.file_name().to_string_lossy());
                    found.push(((number, modified), mail));
                }
            }
        }
        found.sort_by_key(|(order, _)| *order);
        found.into_iter().map(|(_, m)| m).collect()
    }

    /// Waits for a message to `to` whose subject contains `subject`; of several, the newest.
    pub fn wait_for(&self, to: &str, subject: &str, timeout: Duration) -> Mail {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(mail) = self
                .messages_to(to)
                .into_iter()
                .rev()
                .find(|m| m.subject.contains(subject))
            {
                return mail;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} with subject containing {subject:?} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The server's count of deliveries, from a Maildir file name (`<secs>.M<usecs>P<pid>Q<n>.<host>`):
/// it orders mails delivered within the same tick of the file system's clock, where times tie.
fn delivery_number(file_name: &str) -> Option<u64> {
    file_name.split_once('Q')?.1.split('.').next()?.parse().ok()
}

fn parse(raw: &[u8]) -> Option<Mail> {
    let parsed = mailparse::parse_mail(raw).ok()?;
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
            .unwrap_or_default()
    };
    let body = if parsed.subparts.is_empty() {
        parsed.get_body().ok()?
    } else {
        parsed
            .subparts
            .iter()
            .find(|p| p.ctype.mimetype == "text/plain")
            .or(parsed.subparts.first())?
            .get_body()
            .ok()?
    };
    Some(Mail {
        from: header("From"),
        to: header("To"),
        subject: header("Subject"),
        body,
    })
}

fn python() -> PathBuf {
    std::env::var_os("PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}
