//! `privox serve`: the HTTP service, and `privox serve admin …` for the
//! operator. Parsing and printing only: everything is in `privox-service`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use privox_cryptonet::Packing;
use privox_service::server::{ServerConfig, Transport};
use privox_service::storage::{Federation, Storage};
use privox_service::{admin, tls};

const AFTER_HELP: &str = "\
First use on one machine (self-signed certificate for localhost, SQLite in DIR):
  privox serve --data-dir DIR
Then, in another terminal (the operator; tokens are shown once):
  privox serve admin --data-dir DIR tenant create acme
  privox serve admin --data-dir DIR token create acme
  privox serve admin --data-dir DIR model publish emotion --model m.pvxnn
  privox serve admin --data-dir DIR federation create calls --smh-key-id ID --members acme,beta
Clients: privox client --server https://127.0.0.1:8443 --ca-cert DIR/tls/cert.pem --token pvx_… …

PostgreSQL instead of SQLite: --database postgres://user@host/db (or PRIVOX_DATABASE_URL).
Several servers may share one PostgreSQL database.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP, args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    admin: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Operator actions on the storage: tenants, tokens, federations, models.
    Admin(AdminArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct StoreArgs {
    /// Data directory: SQLite database, upload spool, generated TLS files (or PRIVOX_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL instead of SQLite (or PRIVOX_DATABASE_URL).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

impl StoreArgs {
    fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .or_else(|| std::env::var_os("PRIVOX_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("privox-data"))
    }
    fn database(&self) -> Option<String> {
        self.database.clone().or_else(|| {
            std::env::var("PRIVOX_DATABASE_URL")
                .ok()
                .filter(|s| !s.is_empty())
        })
    }
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM). Without --tls-cert/--tls-key a self-signed
    /// certificate for localhost is created in DIR/tls.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Plain HTTP (refused unless --listen is a loopback address).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    insecure_loopback_http: bool,
    /// HE evaluations at once; more are answered 503 with Retry-After.
    #[arg(long)]
    he_concurrency: Option<usize>,
    /// Log as JSON lines.
    #[arg(long)]
    log_json: bool,
}

#[derive(Debug, clap::Args)]
struct AdminArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// API tokens (shown once; the database keeps their SHA-256).
    #[command(subcommand)]
    Token(TokenCommand),
    /// HE models.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Secure Joint Learning federations.
    #[command(subcommand)]
    Federation(FederationCommand),
}

#[derive(Debug, clap::Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create { name: String },
    /// List tenants.
    List,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Create a token for a tenant and print it (once).
    Create {
        tenant: String,
        /// A note stored with the hash.
        #[arg(long, default_value = "")]
        label: String,
    },
}

#[derive(Debug, clap::Subcommand)]
enum ModelCommand {
    /// Publish (or replace) a `privox nn train` model for encrypted inference.
    Publish {
        name: String,
        #[arg(long, value_name = "FILE")]
        model: PathBuf,
        /// single or batch.
        #[arg(long, default_value = "single")]
        packing: String,
    },
}

#[derive(Debug, clap::Subcommand)]
enum FederationCommand {
    /// Create a federation: its SMH code space, classes, SVM (C, γ) and members.
    Create {
        name: String,
        /// Key id of the members' shared SMH key (`privox smh keygen` prints it; public).
        #[arg(long)]
        smh_key_id: String,
        #[arg(long, default_value_t = 3)]
        k: u32,
        #[arg(long, default_value_t = 2.0)]
        delta: f64,
        #[arg(long, default_value_t = 32)]
        mpc: u64,
        #[arg(long, default_value_t = 88)]
        dim: u64,
        #[arg(long, value_delimiter = ',', default_value = "neutral,angry")]
        classes: Vec<String>,
        #[arg(long, default_value_t = 4.0)]
        c: f64,
        #[arg(long, default_value_t = 2.0)]
        gamma: f64,
        /// Member tenants.
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
    },
    /// Add a member.
    AddMember { federation: String, tenant: String },
}

pub fn run(args: Args) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match args.admin {
        Some(Sub::Admin(a)) => rt.block_on(run_admin(a)),
        None => rt.block_on(serve(args.run)),
    }
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if json {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

async fn serve(a: RunArgs) -> Result<ExitCode> {
    init_logs(a.log_json);
    let data_dir = a.store.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let mut ca_hint = None;
    let transport = match (&a.tls_cert, &a.tls_key, a.insecure_loopback_http) {
        (_, _, true) => Transport::InsecureLoopbackHttp,
        (Some(cert), Some(key), false) => Transport::Tls {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => {
            let ss = tls::ensure_self_signed(&data_dir)?;
            if ss.created {
                println!(
                    "created a self-signed certificate for localhost: {} (key {}, mode 0600)",
                    ss.cert.display(),
                    ss.key.display()
                );
            }
            if !a.listen.ip().is_loopback() {
                eprintln!(
                    "warning: the self-signed certificate names localhost only; give --tls-cert/--tls-key for {}",
                    a.listen
                );
            }
            ca_hint = Some(ss.cert.clone());
            Transport::Tls {
                cert: ss.cert,
                key: ss.key,
            }
        }
    };
    let https = !matches!(transport, Transport::InsecureLoopbackHttp);
    let mut cfg = ServerConfig::new(data_dir.clone(), a.listen, transport);
    cfg.database_url = a.store.database();
    if let Some(n) = a.he_concurrency {
        cfg.he_concurrency = n;
    }
    let backend = if cfg.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let running = privox_service::server::start(cfg).await?;
    let scheme = if https { "https" } else { "http" };
    println!(
        "privox serve: listening on {scheme}://{} ({backend} storage, data in {})",
        running.addr,
        data_dir.display()
    );
    let dd = data_dir.display();
    println!("next steps (operator, in another terminal):");
    println!("  privox serve admin --data-dir {dd} tenant create NAME");
    println!(
        "  privox serve admin --data-dir {dd} token create NAME        # prints the token once"
    );
    println!("  privox serve admin --data-dir {dd} model publish M --model m.pvxnn");
    println!("clients:");
    match &ca_hint {
        Some(ca) => println!(
            "  privox client --server {scheme}://{} --ca-cert {} --token pvx_… models",
            running.addr,
            ca.display()
        ),
        None => println!(
            "  privox client --server {scheme}://{} --token pvx_… models",
            running.addr
        ),
    }
    let stop = running.shutdown_sender();
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("signal received: finishing in-flight requests");
        let _ = stop.send(true);
    });
    running.wait().await?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn run_admin(a: AdminArgs) -> Result<ExitCode> {
    let storage = Storage::open(&a.store.data_dir(), a.store.database().as_deref()).await?;
    match a.command {
        AdminCommand::Tenant(TenantCommand::Create { name }) => {
            let t = admin::create_tenant(&storage, &name).await?;
            println!("created tenant {} (id {})", t.name, t.id);
            println!("next: privox serve admin token create {}", t.name);
        }
        AdminCommand::Tenant(TenantCommand::List) => {
            for t in storage.tenants().await? {
                println!("{}", t.name);
            }
        }
        AdminCommand::Token(TokenCommand::Create { tenant, label }) => {
            let token = admin::create_token(&storage, &tenant, &label).await?;
            println!("{}", token.as_str());
            eprintln!("token for {tenant}: shown once; the server stores only its SHA-256");
        }
        AdminCommand::Model(ModelCommand::Publish {
            name,
            model,
            packing,
        }) => {
            let packing = Packing::parse(&packing).ok_or_else(|| {
                anyhow::anyhow!("unknown packing {packing:?}: use single or batch")
            })?;
            let bytes =
                std::fs::read(&model).with_context(|| format!("reading {}", model.display()))?;
            let info = admin::publish_model(&storage, &name, &bytes, packing).await?;
            println!(
                "published {} ({} packing, plan {})",
                info.name, info.packing, info.plan_fingerprint
            );
        }
        AdminCommand::Federation(FederationCommand::Create {
            name,
            smh_key_id,
            k,
            delta,
            mpc,
            dim,
            classes,
            c,
            gamma,
            members,
        }) => {
            let f = Federation {
                name: name.clone(),
                k,
                delta,
                mpc,
                dim,
                key_id: smh_key_id.to_lowercase(),
                classes: classes.iter().map(|s| s.trim().to_string()).collect(),
                c,
                gamma,
            };
            admin::create_federation(&storage, &f, &members).await?;
            println!(
                "created federation {name} (classes {:?}, C = {c}, gamma = {gamma}) with members {:?}",
                f.classes, members
            );
        }
        AdminCommand::Federation(FederationCommand::AddMember { federation, tenant }) => {
            admin::add_member(&storage, &federation, &tenant).await?;
            println!("{tenant} is a member of {federation}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
