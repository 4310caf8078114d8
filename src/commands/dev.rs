//! `nestflux dev`, `nestflux dev idp` and `nestflux dev token`: a generated
//! project run with the development identity provider.
//!
//! `nestflux dev` owns two things and stops both: the provider (in this
//! process) and `cargo run` (a child in a process group of its own, so that
//! cargo, the compilers it starts and the service it runs get the signal
//! together; terminal ctrl-c reaches only this process, which forwards it as
//! SIGTERM, the signal the service shuts down gracefully on).

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use console::style;
use tokio::sync::watch;

use crate::cli::{DevArgs, DevCommand, DevProviderArgs, DevRunArgs, DevTokenArgs};
use crate::dev::config::{ACCESS_TOKEN_LIFETIME, DevConfig};
use crate::dev::{BindError, Listeners, Provider, client};
use crate::error::UserError;
use crate::project::Project;
use crate::ui::Ui;

/// How long a stopped service may take to finish its requests.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How often progress is reported while the service builds and starts.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

pub fn run(args: DevArgs, ui: &Ui) -> anyhow::Result<()> {
    match args.command {
        Some(DevCommand::Idp(provider)) => idp(provider, ui),
        Some(DevCommand::Token(token)) => print_token(token),
        None => dev(args.run, ui),
    }
}

/// The project of `--project DIR`, or the one holding the current directory.
fn open(project: Option<&Path>) -> anyhow::Result<Project> {
    Project::locate(project, crate::project::PROJECT_FLAG)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The provider, listening, or the reason it cannot.
fn start_provider(
    config: &DevConfig,
    provider: &DevProviderArgs,
    ui: &Ui,
) -> anyhow::Result<Result<(Arc<Provider>, Listeners), BindError>> {
    let listeners = match crate::dev::bind(config, provider.bind)? {
        Ok(listeners) => listeners,
        Err(error) => return Ok(Err(error)),
    };
    let provider = Arc::new(Provider::new(config.clone(), *ui)?);
    banner(&provider, &listeners, ui);
    Ok(Ok((provider, listeners)))
}

/// The loud part: what this is, and that it is for development only.
fn banner(provider: &Provider, listeners: &Listeners, ui: &Ui) {
    if ui.is_quiet() {
        return;
    }
    let config = &provider.config;
    eprintln!(
        "{} nestflux dev's identity provider signs tokens for anyone on this\n\
         machine who has a test user's password. Never expose it; never use it in production.",
        style("DEVELOPMENT ONLY:").yellow().bold(),
    );
    let addrs: Vec<String> = listeners.addrs().iter().map(ToString::to_string).collect();
    ui.status(
        "Serving",
        format_args!(
            "{} ({}-shaped tokens, key {}…) on {}",
            config.issuer.url,
            config.idp.label(),
            &provider.kid()[..8],
            addrs.join(", ")
        ),
    );
    let users: Vec<&str> = config.users.iter().map(|u| u.username.as_str()).collect();
    ui.status(
        "Users",
        format_args!(
            "{} (the roles of config/rbac.toml; passwords from .env)",
            if users.is_empty() {
                "none".to_owned()
            } else {
                users.join(", ")
            }
        ),
    );
    for user in config.users.iter().filter(|u| u.password.is_none()) {
        ui.note(format_args!(
            "{} has no {} in .env: the password grant refuses it (the sign-in page does not)",
            user.username,
            user.password_var()
        ));
    }
    ui.status("Home", format_args!("{}/", config.issuer.origin));
}

/// The signals that stop `nestflux dev`: ctrl-c, SIGTERM, SIGHUP (the
/// terminal closed). Listened to from before the service starts until the
/// end, so that none is missed between two waits (once listened to, a signal
/// no longer ends the process by itself).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                hangup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The name of the next signal.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "ctrl-c",
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.hangup.recv() => "SIGHUP",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}

fn load(project: Option<&Path>) -> anyhow::Result<DevConfig> {
    let project = open(project)?;
    DevConfig::load(&project)
}

/// `nestflux dev idp`: the provider alone, until a signal.
fn idp(args: DevProviderArgs, ui: &Ui) -> anyhow::Result<()> {
    let config = load(args.project.as_deref())?;
    let (provider, listeners) = match start_provider(&config, &args, ui)? {
        Ok(started) => started,
        Err(error) => return Err(error.to_user_error(&config).into()),
    };
    ui.text(format_args!(
        "\nRun the service against it with `cargo run` in another terminal; get a token with `nestflux dev token {}`.\nStop with ctrl-c.",
        config.users.first().map_or("ROLE", |u| u.role.as_str())
    ));
    runtime()?.block_on(async {
        let mut signals = Signals::listen()?;
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(provider.serve(listeners, stopped));
        let signal = signals.next().await;
        ui.status("Stopping", format_args!("the provider ({signal})"));
        let _ = stop.send(true);
        finish(server).await
    })
}

/// Waits for a server task, at most a few seconds (idle keep-alive
/// connections of the service must not keep the process alive).
async fn finish(server: tokio::task::JoinHandle<std::io::Result<()>>) -> anyhow::Result<()> {
    match tokio::time::timeout(Duration::from_secs(3), server).await {
        Ok(Ok(result)) => Ok(result?),
        Ok(Err(join)) => Err(anyhow::anyhow!("the provider failed: {join}")),
        Err(_) => Ok(()),
    }
}

/// `nestflux dev token ROLE|USER`.
fn print_token(args: DevTokenArgs) -> anyhow::Result<()> {
    let config = load(args.project.as_deref())?;
    let Some(user) = config.user(&args.user) else {
        let known: Vec<&str> = config.users.iter().map(|u| u.role.as_str()).collect();
        return Err(UserError::usage(format!(
            "`{}` is neither a role of config/rbac.toml nor its test user",
            args.user
        ))
        .with_help(format!(
            "the roles: {}",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ))
        .into());
    };
    let token = client::fetch_token(&config, user)?;
    println!("{token}");
    Ok(())
}

/// `cargo run` in its own process group, stopped as a whole.
struct Service {
    child: tokio::process::Child,
    #[cfg(unix)]
    group: Option<nix::unistd::Pid>,
}

impl Service {
    fn spawn(root: &Path, cargo_args: &[String]) -> anyhow::Result<Self> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = tokio::process::Command::new(&cargo);
        command
            .arg("run")
            .args(cargo_args)
            .current_dir(root)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let child = command.spawn().map_err(|e| {
            UserError::failure(format!("cannot start `cargo run`: {e}"))
                .with_help("is cargo installed and on PATH? (https://rustup.rs)")
        })?;
        Ok(Self {
            #[cfg(unix)]
            group: child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .map(nix::unistd::Pid::from_raw),
            child,
        })
    }

    #[cfg(unix)]
    fn signal(&self, signal: nix::sys::signal::Signal) {
        if let Some(group) = self.group {
            // The group may be gone already: nothing to stop then.
            let _ = nix::sys::signal::killpg(group, signal);
        }
    }

    /// SIGTERM to the group, then SIGKILL after [`STOP_GRACE`].
    async fn stop(&mut self) -> Option<ExitStatus> {
        #[cfg(unix)]
        self.signal(nix::sys::signal::Signal::SIGTERM);
        #[cfg(not(unix))]
        let _ = self.child.start_kill();
        match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(status) => {
                // Whatever else the group still holds (a build script, say).
                #[cfg(unix)]
                self.signal(nix::sys::signal::Signal::SIGKILL);
                status.ok()
            }
            Err(_) => {
                #[cfg(unix)]
                self.signal(nix::sys::signal::Signal::SIGKILL);
                let _ = self.child.start_kill();
                self.child.wait().await.ok()
            }
        }
    }
}

impl Drop for Service {
    /// An error or panic on the way out still leaves no process behind.
    fn drop(&mut self) {
        #[cfg(unix)]
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal(nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// What ended the wait for the service.
enum Outcome {
    Ready,
    Exited(std::io::Result<ExitStatus>),
    Signal(&'static str),
}

/// `nestflux dev`: provider, `cargo run`, readiness, tokens, until a signal
/// or the service's end.
fn dev(args: DevRunArgs, ui: &Ui) -> anyhow::Result<()> {
    let started = Instant::now();
    let project = open(args.provider.project.as_deref())?;
    let config = DevConfig::load(&project)?;
    let provider = match start_provider(&config, &args.provider, ui)? {
        Ok(started) => Some(started),
        Err(BindError::InUse(addr)) => {
            ui.note(format_args!(
                "port {} is in use ({addr}), so the development provider does not start: running only the service, against whatever serves {}",
                addr.port(),
                config.issuer.url
            ));
            None
        }
        Err(error) => return Err(error.to_user_error(&config).into()),
    };
    runtime()?.block_on(async {
        let mut signals = Signals::listen()?;
        let (stop, stopped) = watch::channel(false);
        let server =
            provider.map(|(provider, listeners)| tokio::spawn(provider.serve(listeners, stopped)));
        let result = run_service(&project, &config, &args, ui, &mut signals, started).await;
        let _ = stop.send(true);
        if let Some(server) = server {
            finish(server).await?;
        }
        result
    })
}

async fn run_service(
    project: &Project,
    config: &DevConfig,
    args: &DevRunArgs,
    ui: &Ui,
    signals: &mut Signals,
    started: Instant,
) -> anyhow::Result<()> {
    ui.status(
        "Running",
        format_args!(
            "`cargo run` in {} (its output follows)",
            project.root.display()
        ),
    );
    let mut service = Service::spawn(&project.root, &args.cargo_args)?;
    let ready_url = format!("{}/health/ready", config.service_url);
    let outcome = tokio::select! {
        outcome = wait_until_ready(config, &ready_url, ui) => outcome,
        status = service.child.wait() => Outcome::Exited(status),
        signal = signals.next() => Outcome::Signal(signal),
    };
    match outcome {
        Outcome::Ready => {}
        Outcome::Exited(status) => {
            return Err(UserError::failure(format!(
                "`cargo run` ended ({}) before the service was ready",
                describe(status)
            ))
            .with_help("its output above says why")
            .into());
        }
        Outcome::Signal(signal) => {
            ui.status("Stopping", format_args!("`cargo run` ({signal})"));
            service.stop().await;
            return Ok(());
        }
    }
    print_ready(project, config, args, ui, started).await;
    let ended = tokio::select! {
        status = service.child.wait() => Some(status),
        signal = signals.next() => {
            ui.status("Stopping", format_args!("the service and the provider ({signal})"));
            None
        }
    };
    match ended {
        None => {
            let status = service.stop().await;
            ui.status(
                "Stopped",
                format_args!(
                    "the service ({})",
                    status.map_or("gone".to_owned(), |s| s.to_string())
                ),
            );
            Ok(())
        }
        Some(Ok(status)) if status.success() => Ok(()),
        Some(status) => {
            Err(UserError::failure(format!("the service ended ({})", describe(status))).into())
        }
    }
}

fn describe(status: std::io::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(error) => format!("cannot tell: {error}"),
    }
}

/// Polls `/health/ready` until it answers 200, saying every so often what
/// it is waiting for.
async fn wait_until_ready(config: &DevConfig, url: &str, ui: &Ui) -> Outcome {
    let started = Instant::now();
    let mut next_report = PROGRESS_EVERY;
    let mut answering_since: Option<Instant> = None;
    let mut hinted = false;
    loop {
        let probe = url.to_owned();
        let status = if config.service_url.starts_with("https://") {
            // Readiness over TLS needs the service's certificate; an open
            // port is enough here.
            let addr = config.service_url.trim_start_matches("https://").to_owned();
            tokio::net::TcpStream::connect(addr).await.ok().map(|_| 200)
        } else {
            tokio::task::spawn_blocking(move || client::status(&probe, Duration::from_secs(2)))
                .await
                .ok()
                .flatten()
        };
        if status == Some(200) {
            return Outcome::Ready;
        }
        if status.is_some() && answering_since.is_none() {
            answering_since = Some(Instant::now());
        }
        let waited = started.elapsed();
        if waited >= next_report {
            next_report += PROGRESS_EVERY;
            let what = match status {
                None => "building and starting the service",
                Some(_) => "the service answers, not ready yet",
            };
            ui.status(
                "Waiting",
                format_args!("for {url} ({}s: {what})", waited.as_secs()),
            );
        }
        if !hinted && answering_since.is_some_and(|since| since.elapsed() > Duration::from_secs(20))
        {
            hinted = true;
            ui.note(format_args!(
                "{url} keeps answering {}: the service cannot load the keys of {} or reach its database (its log above says which)",
                status.unwrap_or_default(),
                config.issuer.url
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The tokens, one ready-to-paste `curl` line per role, on standard output.
async fn print_ready(
    project: &Project,
    config: &DevConfig,
    args: &DevRunArgs,
    ui: &Ui,
    started: Instant,
) {
    let service = &config.service_url;
    let mut lines = Vec::new();
    let mut first_token: Option<Duration> = None;
    for user in &config.users {
        let (owned_config, owned_user) = (config.clone(), user.clone());
        let fetched =
            tokio::task::spawn_blocking(move || client::fetch_token(&owned_config, &owned_user))
                .await
                .map_err(|e| UserError::failure(e.to_string()))
                .and_then(|result| result);
        first_token.get_or_insert_with(|| started.elapsed());
        lines.push((format!("{} ({})", user.role, user.username), fetched));
    }
    let project_flag = args
        .provider
        .project
        .as_ref()
        .map(|_| {
            format!(
                " --project {}",
                shell_quote(&project.root.display().to_string())
            )
        })
        .unwrap_or_default();
    let mut out = format!(
        "\n{} {service} (identity provider: {})\n\nTokens, valid {} minutes:\n",
        style("Ready:").green().bold(),
        config.issuer.url,
        ACCESS_TOKEN_LIFETIME / 60
    );
    for (label, fetched) in &lines {
        match fetched {
            Ok(token) => out.push_str(&format!(
                "  # {label}\n  curl -s -H 'Authorization: Bearer {token}' {service}/api/me\n"
            )),
            Err(error) => out.push_str(&format!(
                "  # {label}: no token ({}){}\n",
                error.message,
                error
                    .help
                    .first()
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default()
            )),
        }
    }
    let example = config
        .users
        .iter()
        .find(|u| u.role == "editor")
        .or(config.users.first());
    if let Some(example) = example {
        out.push_str(&format!(
            "\nMore (a fresh token each time):\n  curl -s -H \"Authorization: Bearer $(nestflux dev token {}{project_flag})\" {service}/api/items\n",
            example.role
        ));
    }
    if let Some(base) = &config.public_base_url {
        out.push_str(&format!(
            "\nBrowser sign-in (pick a test user): {base}/auth/login\n"
        ));
    }
    out.push_str("\nStop the service and the provider with ctrl-c.\n");
    print!("{out}");
    if let Some(elapsed) = first_token {
        ui.detail(format_args!(
            "first token {:.1}s after start (build included)",
            elapsed.as_secs_f64()
        ));
    }
}

/// Quotes a path for the shell only when it needs it.
fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
