//! `rtcpeer offer` and `rtcpeer answer` as two processes, their descriptions carried between
//! them as the browser's JSON lines: a file sent by one arrives byte for byte at the other.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rtcpeer"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rtcpeer runs")
}

/// The first stdout line of `child`: its description.
fn description(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with('{'), "a JSON description, got {line:?}");
    line
}

fn wait(mut child: Child, what: &str) {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            assert!(status.success(), "{what} failed: {err}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("{what} did not finish within 60 s");
}

#[test]
fn a_file_goes_from_offerer_to_answerer_over_a_data_channel() {
    let dir = std::env::temp_dir().join(format!("rtcpeer-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (src, dst) = (dir.join("in.bin"), dir.join("out.bin"));
    // 3 MiB + a tail that is not a whole chunk.
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&src, &data).unwrap();

    let mut offerer = spawn(&["offer", "--label", "file", "--send", src.to_str().unwrap()]);
    let mut answerer = spawn(&["answer", "--receive", dst.to_str().unwrap()]);
    let offer = description(&mut offerer);
    answerer
        .stdin
        .as_mut()
        .unwrap()
        .write_all(offer.as_bytes())
        .unwrap();
    let answer = description(&mut answerer);
    offerer
        .stdin
        .as_mut()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    wait(offerer, "rtcpeer offer --send");
    wait(answerer, "rtcpeer answer --receive");
    assert_eq!(
        std::fs::read(&dst).unwrap(),
        data,
        "the file arrived intact"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
