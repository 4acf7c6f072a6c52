//! sluice's integration tests: one binary, one module per area, each test in
//! its own fresh database(s) on the private server that `just test` starts.

// The harness's own oracle: identical databases compare equal, different ones do not.
mod harness;
// Dump → restore → the restored database equals the source, for every type and path.
mod roundtrip;
// What manifest.json records: tables, chunks, checksums, stages; never a password.
mod manifest;
// `sluice verify`: checksums and row counts without a database.
mod verify;
// Interrupted and failing dumps never look complete.
mod failure;
// `sluice restore`: empty targets only unless --clean, sequences restored.
mod restore;
// Command-line contract: exit codes for bad usage.
mod cli;
// One snapshot for every worker: a concurrent writer cannot tear the dump.
mod consistency;
// Hostile components are contained: files, sockets, env, clocks, CPU, memory, stack, output; component check.
mod sandbox;
// The authoring guide's example component is the crate it shows, and does what it says.
mod authoring;
// Masking and filtering: keyed, deterministic, foreign-key safe, fail-closed.
mod masking;
// SQLite as source and target: storage classes, WITHOUT ROWID, AUTOINCREMENT, one snapshot.
mod sqlite;
// MariaDB as source and target: every column type, sakila, snapshot modes, one snapshot.
mod mysql;
// Interrupted dumps: SIGKILL, signals, held snapshots, --resume.
mod resume;
// Dumps straight to s3://: round trips, tampering, kills mid-upload, cut connections, bad credentials.
mod s3;
// Encryption at rest: age recipients and passphrases, no-key verify, tampering, swaps, signing, the age CLI.
mod encrypt;
