//! terraform-provider-berth: serves the berth provider to Terraform.
//!
//! Run by Terraform (never by hand); `--debug` serves for a debugger and
//! prints `TF_REATTACH_PROVIDERS`; `--version` prints the version. When
//! Terraform dies without stopping it, tfplugin ends the process.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("terraform-provider-berth {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let debug = args.iter().any(|a| a == "--debug");
    let opts = tfplugin::ServeOptions {
        provider_address: terraform_provider_berth::PROVIDER_ADDRESS.to_string(),
        debug,
        ..Default::default()
    };
    match tfplugin::serve(terraform_provider_berth::BerthProvider::new(), opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
