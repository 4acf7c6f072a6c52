//! What the commands print on standard output. A reader that goes away
//! early (`sluice inspect DIR | head`) ends the process quietly with exit 0,
//! as ripgrep and the coreutils do, instead of the panic `println!` gives
//! on a closed pipe.

use std::io::{self, Write};

/// Prints one line to standard output, like `println!`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
pub(crate) use out;

/// Writes `args` and a newline; exits 0 when stdout is a closed pipe.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n")).and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}
