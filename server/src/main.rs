fn main() -> std::process::ExitCode {
    bellhop_server::cli::main()
}
