//! The two transports a Wyoming `--uri` names: `tcp://HOST:PORT` and `unix://PATH`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `HOST:PORT` as given (a name, an IPv4 address or a bracketed IPv6 address).
    Tcp(String),
    #[cfg(unix)]
    Unix(PathBuf),
}

/// clap parser for `--uri`.
pub fn parse_uri(uri: &str) -> Result<Endpoint, String> {
    if let Some(address) = uri.strip_prefix("tcp://") {
        let port = address
            .rsplit_once(':')
            .map(|(_, p)| p)
            .ok_or_else(|| format!("`{uri}` has no port (tcp://HOST:PORT)"))?;
        port.parse::<u16>()
            .map_err(|_| format!("`{uri}`: `{port}` is not a port number"))?;
        return Ok(Endpoint::Tcp(address.to_string()));
    }
    #[cfg(unix)]
    if let Some(path) = uri.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(format!("`{uri}` has no path (unix://PATH)"));
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    Err(format!(
        "`{uri}` is not tcp://HOST:PORT{}",
        if cfg!(unix) { " or unix://PATH" } else { "" }
    ))
}

/// A bound, non-blocking listener.
pub enum Listener {
    Tcp(TcpListener),
    /// The socket file is removed when the listener is dropped.
    #[cfg(unix)]
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds `endpoint`. A unix socket path that holds a stale socket (a server that died)
    /// is replaced; any other existing file is refused.
    pub fn bind(endpoint: &Endpoint) -> Result<Self, String> {
        let listener = match endpoint {
            Endpoint::Tcp(address) => TcpListener::bind(address)
                .map(Listener::Tcp)
                .map_err(|e| format!("tcp://{address}: cannot listen: {e}"))?,
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                use std::os::unix::fs::FileTypeExt;
                let shown = format!("unix://{}", path.display());
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if !meta.file_type().is_socket() {
                        return Err(format!("{shown}: exists and is not a socket"));
                    }
                    if UnixStream::connect(path).is_ok() {
                        return Err(format!("{shown}: another server is listening there"));
                    }
                    std::fs::remove_file(path)
                        .map_err(|e| format!("{shown}: cannot remove the stale socket: {e}"))?;
                }
                UnixListener::bind(path)
                    .map(|l| Listener::Unix(l, path.clone()))
                    .map_err(|e| format!("{shown}: cannot listen: {e}"))?
            }
        };
        listener
            .set_nonblocking()
            .map_err(|e| format!("{}: {e}", listener.uri()))?;
        Ok(listener)
    }

    fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(true),
            #[cfg(unix)]
            Listener::Unix(l, _) => l.set_nonblocking(true),
        }
    }

    /// The URI actually bound (with the port the system chose for port 0).
    pub fn uri(&self) -> String {
        match self {
            Listener::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("tcp://{a}"),
                Err(_) => "tcp://?".to_string(),
            },
            #[cfg(unix)]
            Listener::Unix(_, path) => format!("unix://{}", path.display()),
        }
    }

    /// A pending connection (blocking, as the client threads want), its peer's name, or
    /// `WouldBlock` when none is waiting.
    pub fn accept(&self) -> io::Result<(Conn, String)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept()?;
                s.set_nonblocking(false)?;
                // Detections are tiny and urgent: no Nagle delay.
                s.set_nodelay(true)?;
                Ok((Conn::Tcp(s), peer.to_string()))
            }
            #[cfg(unix)]
            Listener::Unix(l, path) => {
                let (s, _) = l.accept()?;
                s.set_nonblocking(false)?;
                Ok((Conn::Unix(s), path.display().to_string()))
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One client connection.
pub enum Conn {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Conn {
    pub fn try_clone(&self) -> io::Result<Self> {
        match self {
            Conn::Tcp(s) => s.try_clone().map(Conn::Tcp),
            #[cfg(unix)]
            Conn::Unix(s) => s.try_clone().map(Conn::Unix),
        }
    }

    /// Ends both directions: a thread blocked reading or writing this connection wakes up.
    pub fn shutdown(&self) {
        let _ = match self {
            Conn::Tcp(s) => s.shutdown(Shutdown::Both),
            #[cfg(unix)]
            Conn::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    pub fn set_timeouts(&self, read: Option<Duration>, write: Duration) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => {
                s.set_read_timeout(read)?;
                s.set_write_timeout(Some(write))
            }
            #[cfg(unix)]
            Conn::Unix(s) => {
                s.set_read_timeout(read)?;
                s.set_write_timeout(Some(write))
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Conn::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            #[cfg(unix)]
            Conn::Unix(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_or_say_why_not() {
        assert_eq!(
            parse_uri("tcp://0.0.0.0:10400"),
            Ok(Endpoint::Tcp("0.0.0.0:10400".into()))
        );
        assert_eq!(
            parse_uri("tcp://[::1]:10400"),
            Ok(Endpoint::Tcp("[::1]:10400".into()))
        );
        assert!(parse_uri("tcp://host").unwrap_err().contains("no port"));
        assert!(parse_uri("tcp://host:99999")
            .unwrap_err()
            .contains("not a port"));
        assert!(parse_uri("http://x:1")
            .unwrap_err()
            .contains("is not tcp://"));
        #[cfg(unix)]
        assert_eq!(
            parse_uri("unix:///run/hushword.sock"),
            Ok(Endpoint::Unix("/run/hushword.sock".into()))
        );
    }
}
