//! One module per subcommand, each a thin composition of answers, prompt,
//! render and write.

pub mod add;
pub mod audit;
pub mod deploy;
pub mod dev;
pub mod new;
pub mod resource;
pub mod upgrade;
