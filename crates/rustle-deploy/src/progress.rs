//! What deploy tells the user while it works: on a terminal, indicatif
//! spinners for builds and byte bars for uploads; elsewhere plain
//! `rustle-deploy: ...` lines on stderr.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone)]
pub struct Progress {
    bars: Option<MultiProgress>,
    quiet: bool,
}

/// One bar or spinner; does nothing without bars.
#[derive(Debug)]
pub struct Task(Option<ProgressBar>);

impl Progress {
    /// Bars when `terminal`, plain lines otherwise.
    pub fn new(terminal: bool) -> Progress {
        Progress {
            bars: terminal.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            quiet: false,
        }
    }

    /// Says nothing at all (for library callers and tests).
    pub fn quiet() -> Progress {
        Progress {
            bars: None,
            quiet: true,
        }
    }

    pub fn line(&self, msg: &str) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(format!("rustle-deploy: {msg}"));
            }
            None if !self.quiet => eprintln!("rustle-deploy: {msg}"),
            None => {}
        }
    }

    /// A spinner while something of unknown length runs.
    pub fn spinner(&self, msg: String) -> Task {
        Task(self.bars.as_ref().map(|m| {
            let pb = m.add(ProgressBar::new_spinner().with_message(msg));
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        }))
    }

    /// A byte bar for an upload of `total` bytes.
    pub fn bytes(&self, msg: String, total: u64) -> Task {
        Task(self.bars.as_ref().map(|m| {
            let style = ProgressStyle::with_template(
                "{msg:20} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            m.add(ProgressBar::new(total).with_style(style).with_message(msg))
        }))
    }
}

impl Task {
    pub fn set(&self, n: u64) {
        if let Some(pb) = &self.0 {
            pb.set_position(n);
        }
    }

    pub fn finish(self) {
        if let Some(pb) = self.0 {
            pb.finish_and_clear();
        }
    }
}
