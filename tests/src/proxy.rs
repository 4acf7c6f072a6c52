//! A TCP proxy that cuts connections, for fault tests: it forwards to a
//! real server and, once a connection has carried `after` bytes from the
//! server, shuts it down both ways, as a dropped network link or a killed
//! backend would. Plain threads: one acceptor, two pumps per connection.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;

/// Which connections the proxy cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The first connection that carries `after` bytes from the server, and
    /// no other.
    Once {
        /// Bytes it carries before the cut.
        after: u64,
    },
    /// The first connection that carries `after` bytes from the client (a
    /// request body being uploaded), and no other.
    UploadOnce {
        /// Bytes it carries before the cut.
        after: u64,
    },
    /// No cut: bytes from the client pass at most this fast (a slow
    /// uplink, so an upload is sure to be under way when the test acts).
    SlowUpload {
        /// Bytes per second from the client.
        bytes_per_sec: u64,
    },
    /// An outage: once `from_total` bytes have come from the server over
    /// all connections, every connection is cut as soon as it has carried
    /// `after` more (new ones included: they get through their handshake,
    /// then lose the link mid-chunk).
    Outage {
        /// Bytes in all before the outage starts.
        from_total: u64,
        /// Bytes each connection still carries once it has.
        after: u64,
        /// Connections whose first bytes from the client contain this (a
        /// PostgreSQL startup packet's `application_name`, e.g. `pg_dump`)
        /// are never cut.
        spare: Option<&'static str>,
    },
}

/// What every connection of a proxy shares.
#[derive(Default)]
struct Counters {
    cuts: AtomicUsize,
    total: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct CutProxy {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl CutProxy {
    /// Forwards 127.0.0.1:<port> to `target` (`host:port`), cutting as
    /// `cut` says.
    pub fn start(target: &str, cut: Cut) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (counters, stop) = (Arc::new(Counters::default()), Arc::new(AtomicBool::new(false)));
        let target = target.to_owned();
        let (shared, stopped) = (counters.clone(), stop.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&target) else { continue };
                let shared = shared.clone();
                thread::spawn(move || forward(client, server, cut, &shared));
            }
        });
        CutProxy { addr, counters, stop }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many connections it has cut.
    pub fn cuts(&self) -> usize {
        self.counters.cuts.load(Ordering::SeqCst)
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("a URL");
        parsed.set_host(Some("127.0.0.1")).expect("host");
        parsed.set_port(Some(self.port())).expect("port");
        parsed.to_string()
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn forward(client: TcpStream, server: TcpStream, cut: Cut, counters: &Counters) {
    let (client_in, server_out) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
    let spared = Arc::new(AtomicBool::new(false));
    let needle = match cut {
        Cut::Outage { spare, .. } => spare,
        Cut::Once { .. } | Cut::UploadOnce { .. } | Cut::SlowUpload { .. } => None,
    };
    let seen = spared.clone();
    thread::scope(|scope| {
        scope.spawn(|| pump(client_in, server_out, Side::Client { needle, seen, cut, counters }));
        pump(server, client, Side::Server { cut, counters, spared });
    });
}

/// Which way a pump copies.
enum Side<'a> {
    /// Client to server: looks for the needle in the first bytes.
    Client { needle: Option<&'static str>, seen: Arc<AtomicBool>, cut: Cut, counters: &'a Counters },
    /// Server to client: counts and cuts.
    Server { cut: Cut, counters: &'a Counters, spared: Arc<AtomicBool> },
}

/// Copies `from` to `to` until either end closes; server to client, cuts
/// both ends when the rule says.
fn pump(mut from: TcpStream, mut to: TcpStream, side: Side<'_>) {
    let mut buffer = [0u8; 16 << 10];
    let (mut carried, mut outage_base) = (0u64, None::<u64>);
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
        carried += n as u64;
        let (cut, counters, spared) = match &side {
            Side::Client { needle, seen, cut, counters } => {
                if let Some(needle) = needle
                    && carried <= 4096
                    && buffer[..n].windows(needle.len()).any(|w| w == needle.as_bytes())
                {
                    seen.store(true, Ordering::SeqCst);
                }
                if let Cut::SlowUpload { bytes_per_sec } = cut {
                    thread::sleep(std::time::Duration::from_secs_f64(n as f64 / *bytes_per_sec as f64));
                }
                if let Cut::UploadOnce { after } = cut
                    && carried >= *after
                    && counters.cuts.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_ok()
                {
                    break;
                }
                continue;
            }
            Side::Server { cut, counters, spared } => (*cut, *counters, spared),
        };
        if spared.load(Ordering::SeqCst) {
            continue;
        }
        let total = counters.total.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        let cut_now = match cut {
            Cut::Once { after } => {
                carried >= after && counters.cuts.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_ok()
            }
            Cut::UploadOnce { .. } | Cut::SlowUpload { .. } => false,
            Cut::Outage { from_total, after, .. } => {
                if total >= from_total && outage_base.is_none() {
                    outage_base = Some(carried - n as u64);
                }
                let cut = outage_base.is_some_and(|base| carried - base >= after);
                if cut {
                    counters.cuts.fetch_add(1, Ordering::SeqCst);
                }
                cut
            }
        };
        if cut_now {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
