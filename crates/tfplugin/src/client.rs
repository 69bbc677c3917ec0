//! An out-of-process client that launches a provider binary the way
//! Terraform does (cookie, AutoMTLS, handshake line) — for benchmarks and
//! handshake tests. (Being written.)
