//! The integration tests of `delegate-transport-stdio`, as one binary: scripted I/O, in-memory
//! duplex streams, and real child processes (the `delegate-fake-agent` binary).

#[cfg(test)]
mod suite;
