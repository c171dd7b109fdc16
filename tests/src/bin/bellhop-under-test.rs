//! The `bellhop` binary, built inside the test package so its tests can find it with
//! `CARGO_BIN_EXE_bellhop-under-test` and run it as a child process.

fn main() -> std::process::ExitCode {
    bellhop_server::cli::main()
}
