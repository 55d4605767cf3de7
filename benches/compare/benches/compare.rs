//! realip and the other client-IP crates on the same inputs: answers first,
//! then time, then one table.
//!
//! Every contender's answer to every input is computed once and judged
//! (`realip_compare::Input::judge`) before anything is timed; a crate that
//! cannot read an input at all is `n/a`. Each timed call is measured by
//! criterion (median of its estimates, read back from `estimates.json`) and,
//! as a cross-check, by a plain loop (median of 9 batches).
//!
//! ```text
//! bash run.sh                 # from benches/compare/
//! cargo bench -- xff_3_hops   # one input
//! ```

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use realip_compare::{Answer, CONTENDERS, Contender, Input, Verdict, for_contender, inputs};

/// One row of the final table.
struct Row {
    input: &'static str,
    contender: &'static str,
    /// The answer and its verdict, or why the contender cannot do the input.
    outcome: Result<(Answer, Verdict), &'static str>,
    /// Median ns per call from the plain loop.
    loop_ns: Option<f64>,
}

fn judge<C: Contender>(input: &Input) -> Result<(Answer, Verdict), &'static str> {
    let answer = realip_compare::answer_of::<C>(input)?;
    let verdict = input.judge(&answer);
    Ok((answer, verdict))
}

/// Times `C` on `input` with criterion, and with a plain loop whose median
/// is returned. The loop honours the same filter words as criterion (as
/// substrings of `input/crate`).
fn time<C: Contender>(c: &mut Criterion, input: &Input, filters: &[String]) -> Option<f64> {
    let contender = C::prepare(input).ok()?;
    c.benchmark_group(input.id)
        .bench_function(C::NAME, |b| b.iter(|| contender.call()));
    let id = format!("{}/{}", input.id, C::NAME);
    let selected = filters.is_empty() || filters.iter().any(|f| id.contains(f.as_str()));
    selected.then(|| plain_loop(&contender))
}

/// The median of 9 batches of calls, each batch about 20 ms long.
fn plain_loop<C: Contender>(contender: &C) -> f64 {
    let mut per_batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..per_batch {
            black_box(contender.call());
        }
        if start.elapsed() >= Duration::from_millis(20) {
            break;
        }
        per_batch *= 2;
    }
    let mut samples: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                black_box(contender.call());
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Where criterion writes: the directory the configuration names.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// Criterion's median estimate for one benchmark, in ns.
fn criterion_median(dir: &Path, input: &str, contender: &str) -> Option<f64> {
    let path = dir.join(input).join(contender).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn ns(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 10_000.0 => format!("{:.1} µs", v / 1000.0),
        Some(v) => format!("{v:.1}"),
        None => "-".to_owned(),
    }
}

fn main() {
    let dir = criterion_dir();
    let mut criterion = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .output_directory(&dir)
        .configure_from_args();

    // `COMPARE_ANSWERS_ONLY=1` prints the answers and times nothing.
    let answers_only = std::env::var_os("COMPARE_ANSWERS_ONLY").is_some_and(|v| v == "1");
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let inputs = inputs();
    let mut rows = Vec::new();
    for input in &inputs {
        for name in CONTENDERS {
            let outcome = for_contender!(name, judge(input)).expect("a known contender");
            rows.push(Row {
                input: input.id,
                contender: name,
                outcome,
                loop_ns: None,
            });
        }
    }
    // Never time a contender before its answer is known: the table above is
    // complete before the first measurement.
    for row in rows.iter_mut() {
        let input = inputs
            .iter()
            .find(|i| i.id == row.input)
            .expect("its input");
        if input.timed && row.outcome.is_ok() && !answers_only {
            row.loop_ns =
                for_contender!(row.contender, time(&mut criterion, input, &filters)).flatten();
        }
    }
    criterion.final_summary();

    println!();
    println!("## Correct answers");
    println!();
    println!("| input | correct answer | why |");
    println!("|---|---|---|");
    for input in &inputs {
        println!(
            "| {} | {} | {} |",
            input.id,
            input.expected_text(),
            input.why
        );
    }
    println!();
    println!("## Results (trusted: {})", realip_compare::TRUSTED);
    println!();
    println!(
        "| input | crate | ns/op (criterion median) | ns/op (plain loop) | × realip | answer | correct? |"
    );
    println!("|---|---|---:|---:|---:|---|---|");
    for input in &inputs {
        let median = |name| criterion_median(&dir, input.id, name);
        let realip = median("realip");
        for row in rows.iter().filter(|r| r.input == input.id) {
            let (answer, verdict) = match &row.outcome {
                Ok((answer, verdict)) => (answer.to_string(), verdict.to_string()),
                Err(why) => (format!("n/a: {why}"), "n/a".to_owned()),
            };
            let (crit, ratio) = if input.timed {
                let m = median(row.contender);
                let ratio = match (m, realip) {
                    (Some(m), Some(r)) if r > 0.0 => format!("{:.1}", m / r),
                    _ => "-".to_owned(),
                };
                (ns(m), ratio)
            } else {
                ("not timed".to_owned(), "-".to_owned())
            };
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                input.id,
                row.contender,
                crit,
                ns(row.loop_ns),
                ratio,
                answer,
                verdict
            );
        }
    }
}
