//! Encode/decode tests for the zstd byte transform, run natively. The files
//! in `testdata/` were written by the reference `zstd` CLI (v1.5.4) from
//! `sample(5000)`: `l1.zst` (`-1`, from stdin: no content size),
//! `l19.zst` (`-19`, content size), `l3nocheck.zst` (`-3 --no-check`) and
//! `multi.zst` (`-1` of the first 100000 bytes, a skippable frame, `-19` of
//! the rest, an empty frame).

use super::*;

/// Deterministic table-like text: digits, names, dates.
fn sample(lines: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..lines {
        out += &format!(
            "{i}\tcustomer-{}\t{}.{:02}\t2024-01-{:02} 10:00:00+00\n",
            (i * 7919) % 1000,
            (i * 31) % 97,
            i % 100,
            i % 28 + 1
        );
    }
    out.into_bytes()
}

fn run(direction: Direction, config: &str, input: &[u8], piece: usize) -> Result<Vec<u8>, StageError> {
    let mut t = Zstd::start(direction, config)?;
    let mut out = Vec::new();
    for chunk in input.chunks(piece.max(1)) {
        out.extend(t.push(chunk)?);
    }
    out.extend(t.finish()?);
    Ok(out)
}

fn encode(input: &[u8], piece: usize) -> Vec<u8> {
    run(Direction::Encode, "", input, piece).expect("encode")
}

fn decode(input: &[u8], piece: usize) -> Result<Vec<u8>, StageError> {
    run(Direction::Decode, "", input, piece)
}

#[test]
fn config_accepts_empty_or_levels_1_to_22() {
    for ok in ["", "1", "3", "19", "22", " 5 "] {
        assert!(Zstd::start(Direction::Encode, ok).is_ok(), "{ok:?}");
    }
    for bad in ["0", "23", "-1", "3.5", "fast", "1 2"] {
        assert!(matches!(Zstd::start(Direction::Encode, bad), Err(StageError::InvalidConfig(_))), "{bad:?}");
        assert!(matches!(Zstd::start(Direction::Decode, bad), Err(StageError::InvalidConfig(_))), "{bad:?}");
    }
    assert_eq!(Zstd::EXTENSION, "zst");
}

#[test]
fn small_input_round_trips_at_every_split() {
    let input = sample(40);
    let reference = encode(&input, input.len());
    assert!(reference.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
    for piece in 1..=input.len() {
        assert_eq!(encode(&input, piece), reference, "encode piece={piece}");
    }
    for piece in 1..=reference.len() {
        assert_eq!(decode(&reference, piece).expect("decode"), input, "decode piece={piece}");
    }
}

#[test]
fn large_input_round_trips_in_many_frames() {
    let input = sample(70_000); // ~3.3 MB: four frames
    assert!(input.len() > 3 * FRAME_INPUT);
    let compressed = encode(&input, 65_536);
    assert!(compressed.len() < input.len() / 2, "{} bytes", compressed.len());
    assert_eq!(encode(&input, 1), compressed);
    assert_eq!(encode(&input, 999_983), compressed);
    for piece in [1, 3, 4096, 131_075, compressed.len()] {
        assert_eq!(decode(&compressed, piece).expect("decode"), input, "decode piece={piece}");
    }
}

#[test]
fn empty_input_encodes_to_one_empty_frame() {
    let compressed = encode(b"", 1);
    assert!(!compressed.is_empty());
    assert_eq!(decode(&compressed, 1).expect("decode"), b"");
    assert_eq!(decode(b"", 1).expect("empty stream"), b"");
}

#[test]
fn decodes_streams_written_by_reference_zstd() {
    let expected = sample(5000);
    let files: [(&str, &[u8]); 4] = [
        ("l1", include_bytes!("../testdata/l1.zst")),
        ("l19", include_bytes!("../testdata/l19.zst")),
        ("l3nocheck", include_bytes!("../testdata/l3nocheck.zst")),
        ("multi", include_bytes!("../testdata/multi.zst")),
    ];
    for (name, file) in files {
        for piece in [1, 2, 3, 5, 4096, file.len()] {
            assert_eq!(decode(file, piece).expect(name), expected, "{name} piece={piece}");
        }
    }
}

#[test]
fn truncated_stream_fails_at_finish() {
    let file = include_bytes!("../testdata/l19.zst");
    for cut in [1, 4, 5, 9, 100, file.len() - 4, file.len() - 1] {
        assert!(matches!(decode(&file[..cut], 7), Err(StageError::InvalidInput(_))), "cut={cut}");
    }
}

#[test]
fn garbage_and_corruption_are_invalid_input() {
    assert!(matches!(decode(b"hello, world", 3), Err(StageError::InvalidInput(_))));
    let mut file = encode(&sample(3000), 1 << 16);
    // Trailing garbage after a valid frame.
    file.extend_from_slice(b"junk");
    assert!(matches!(decode(&file, 1000), Err(StageError::InvalidInput(_))));
    file.truncate(file.len() - 4);
    // Flipped bytes inside the data: the checksum or the structure catches it.
    for at in [20, file.len() / 2, file.len() - 3] {
        let mut bad = file.clone();
        bad[at] ^= 0x55;
        assert!(decode(&bad, 512).is_err(), "flip at {at}");
    }
}
