//! Calls one contender on one input N times inside `timed_calls`, for
//! callgrind to count: instructions per call do not depend on the load of
//! the machine, unlike nanoseconds.
//!
//! ```text
//! instructions CRATE INPUT N
//! valgrind --tool=callgrind --toggle-collect='*timed_calls*' instructions realip xff_3_hops 20000
//! ```
//!
//! `profile.sh` runs every pair and divides the count by N.

use std::hint::black_box;
use std::process::ExitCode;

use realip_compare::{Contender, Input, for_contender, inputs};

/// The only code callgrind collects in (`--toggle-collect`).
#[inline(never)]
fn timed_calls<C: Contender>(contender: &C, n: u64) {
    for _ in 0..n {
        black_box(contender.call());
    }
}

fn run<C: Contender>(input: &Input, n: u64) -> Result<(), &'static str> {
    let contender = C::prepare(input)?;
    // One call outside the collected region, so that first-use costs
    // (lazy statics, page faults) are not counted.
    black_box(contender.call());
    timed_calls(&contender, n);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, id, n] = args.as_slice() else {
        eprintln!("usage: instructions CRATE INPUT N");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("instructions: N must be a number, not {n:?}");
        return ExitCode::from(2);
    };
    let inputs = inputs();
    let Some(input) = inputs.iter().find(|i| i.id == id) else {
        eprintln!("instructions: no input {id:?}");
        return ExitCode::from(2);
    };
    match for_contender!(name.as_str(), run(input, n)) {
        None => {
            eprintln!("instructions: no contender {name:?}");
            ExitCode::from(2)
        }
        Some(Err(why)) => {
            println!("n/a: {why}");
            ExitCode::SUCCESS
        }
        Some(Ok(())) => ExitCode::SUCCESS,
    }
}
