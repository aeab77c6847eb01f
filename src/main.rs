//! The `hushword` command: parse, call the library, print (see `hushword --help`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
