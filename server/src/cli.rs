//! The `bellhop` command line: `serve` runs the server; `agent add` creates an agent account.

use std::path::PathBuf;
use std::process::ExitCode;

use bellhop_protocol::api::Role;
use bellhop_protocol::{ChatCap, DisplayName, Email, Password, SiteId};
use clap::{Args, Parser, Subcommand};

use crate::accounts::{AgentSpec, create_agent};
use crate::app::Application;
use crate::bootstrap::random_password;
use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "bellhop",
    version,
    about = "Self-hosted live chat: one binary, no lost message."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// TOML configuration file (default: ./bellhop.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// sqlite://FILE (default sqlite://bellhop.db) or postgres://...
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        bind: Option<String>,
        /// Also serve the demo shop page with the widget on this address, e.g. 127.0.0.1:8081.
        #[arg(long)]
        demo_host: Option<String>,
    },
    /// Manage agent accounts.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create an agent. Without --password one is generated and printed once.
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_parser = parse_email)]
        email: Email,
        /// The name visitors see.
        #[arg(long, value_parser = parse_display_name)]
        name: DisplayName,
        /// agent, supervisor or admin.
        #[arg(long, default_value = "agent", value_parser = parse_role)]
        role: Role,
        /// A site the agent serves: its widget key or id (repeatable).
        #[arg(long = "site")]
        sites: Vec<String>,
        /// Open chats at most (default: routing.default_agent_cap).
        #[arg(long, value_parser = parse_chat_cap)]
        max_chats: Option<ChatCap>,
        #[arg(long, env = "BELLHOP_NEW_AGENT_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

// Parsed once, at the command line: a bad value is refused before anything is opened.
fn parse_email(text: &str) -> Result<Email, String> {
    Email::parse(text.to_owned()).map_err(|e| e.to_string())
}

fn parse_display_name(text: &str) -> Result<DisplayName, String> {
    DisplayName::parse(text.to_owned()).map_err(|e| e.to_string())
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("{text:?} is not agent, supervisor or admin"))
}

fn parse_chat_cap(text: &str) -> Result<ChatCap, String> {
    let cap: u32 = text.parse().map_err(|e| format!("{e}"))?;
    ChatCap::new(cap).map_err(|e| e.to_string())
}

fn load(common: &Common) -> anyhow::Result<Config> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(url) = &common.database_url {
        config.database_url.clone_from(url);
    }
    Ok(config)
}

/// Entry point of the `bellhop` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bellhop: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bellhop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            common,
            bind,
            demo_host,
        } => {
            let mut config = load(&common)?;
            if let Some(bind) = bind {
                config.bind = bind;
            }
            if demo_host.is_some() {
                config.demo_host = demo_host;
            }
            crate::telemetry::init(config.log_format);
            tracing::debug!(?config, "configuration");
            Application::build(config).await?.run_until_stopped().await
        }
        Command::Agent {
            command:
                AgentCommand::Add {
                    common,
                    email,
                    name,
                    role,
                    sites,
                    max_chats,
                    password,
                },
        } => {
            let config = load(&common)?;
            crate::telemetry::init(config.log_format);
            let store =
                crate::store::connect(&config.database_url, config.database_max_connections)
                    .await?;
            let mut site_ids: Vec<SiteId> = Vec::new();
            for site in &sites {
                let found = match site.parse::<SiteId>() {
                    Ok(id) => store.site(id).await?,
                    Err(_) => store.site_by_widget_key(site).await?,
                };
                let found = found.ok_or_else(|| anyhow::anyhow!("no site {site:?}"))?;
                site_ids.push(found.id);
            }
            let (password, generated) = match password {
                Some(p) => (Password::new(p), false),
                None => (Password::new(random_password()), true),
            };
            let hasher = crate::auth::limits::Hasher::new(&config.auth);
            let agent = create_agent(
                store.as_ref(),
                &config,
                &hasher,
                AgentSpec {
                    email,
                    display_name: name,
                    password: password.clone(),
                    role,
                    max_chats,
                    sites: site_ids,
                },
            )
            .await?;
            println!(
                "created {} ({}) as {}",
                agent.email,
                agent.id,
                agent.role.as_str()
            );
            if generated {
                println!("password: {}", password.expose());
            }
            Ok(())
        }
    }
}
