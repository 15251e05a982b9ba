use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where test servers' ports are picked when the kernel's ephemeral range leaves no room below it.
const LOWEST_PICKED: u16 = 10_000;

/// A loopback port that was free a moment ago, for a server started in another process (or again
/// on the same port after a crash). It is picked at random *below* the kernel's ephemeral range:
/// ports the kernel hands out for outgoing connections and `bind(0)` come from that range, so with
/// many tests running at once none of them takes this port before the server binds it.
pub fn free_port() -> anyhow::Result<u16> {
    let below = ephemeral_start().unwrap_or(32_768);
    if below > LOWEST_PICKED + 1_000 {
        let mut seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ (u64::from(std::process::id()) << 32);
        for _ in 0..200 {
            // xorshift: enough spread for picking ports.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let port = LOWEST_PICKED + (seed % u64::from(below - LOWEST_PICKED)) as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The first port of the kernel's ephemeral range (Linux).
fn ephemeral_start() -> Option<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Waits until something accepts connections on the port.
pub(crate) fn wait_for_port(port: u16, within: Duration) -> anyhow::Result<()> {
    wait_for_child_port(None, port, within)
}

/// Waits until `child` accepts connections on the port; fails at once if it exits first (so a
/// server that could not bind is not mistaken for whoever else listens there).
pub(crate) fn wait_for_child_port(
    mut child: Option<&mut Child>,
    port: u16,
    within: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Some(child) = child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            anyhow::bail!("the server for 127.0.0.1:{port} exited at start ({status})");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!("nothing listens on 127.0.0.1:{port} after {within:?}")
}
