//! Encode/decode tests for the gzip byte transform, run natively. The files
//! in `testdata/` were written by GNU gzip 1.12 from `sample(2500)`:
//! `in6.gz` (`-6`) and `multi.gz` (`-1` of the first 50000 bytes followed
//! by a second member, `-9 -n`, of the rest).

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
    let mut t = Gzip::start(direction, config)?;
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
fn config_accepts_empty_or_levels_0_to_9() {
    for ok in ["", "0", "1", "6", "9"] {
        assert!(Gzip::start(Direction::Encode, ok).is_ok(), "{ok:?}");
    }
    for bad in ["10", "-1", "best", "1.0"] {
        assert!(matches!(Gzip::start(Direction::Encode, bad), Err(StageError::InvalidConfig(_))), "{bad:?}");
    }
    assert_eq!(Gzip::EXTENSION, "gz");
}

#[test]
fn every_level_round_trips() {
    let input = sample(300);
    for level in 0..=9 {
        let compressed = run(Direction::Encode, &level.to_string(), &input, 1000).expect("encode");
        assert_eq!(decode(&compressed, 77).expect("decode"), input, "level {level}");
    }
}

#[test]
fn small_input_round_trips_at_every_split() {
    let input = sample(40);
    let reference = encode(&input, input.len());
    assert!(reference.starts_with(&[0x1f, 0x8b]));
    for piece in 1..=input.len() {
        assert_eq!(encode(&input, piece), reference, "encode piece={piece}");
    }
    for piece in 1..=reference.len() {
        assert_eq!(decode(&reference, piece).expect("decode"), input, "decode piece={piece}");
    }
}

#[test]
fn large_input_round_trips() {
    let input = sample(70_000); // ~3.3 MB
    let compressed = encode(&input, 65_536);
    assert!(compressed.len() < input.len() / 2, "{} bytes", compressed.len());
    assert_eq!(encode(&input, 999_983), compressed);
    for piece in [1, 3, 4096, 1 << 20, compressed.len()] {
        assert_eq!(decode(&compressed, piece).expect("decode"), input, "decode piece={piece}");
    }
}

#[test]
fn decodes_files_written_by_gnu_gzip_including_multi_member() {
    let expected = sample(2500);
    let files: [(&str, &[u8]); 2] =
        [("in6", include_bytes!("../testdata/in6.gz")), ("multi", include_bytes!("../testdata/multi.gz"))];
    for (name, file) in files {
        for piece in [1, 2, 9, 4096, file.len()] {
            assert_eq!(decode(file, piece).expect(name), expected, "{name} piece={piece}");
        }
    }
}

#[test]
fn concatenated_members_of_our_own_decode_as_one() {
    let mut file = encode(b"first ", 3);
    file.extend(encode(b"", 1));
    file.extend(encode(b"second", 2));
    for piece in 1..=file.len() {
        assert_eq!(decode(&file, piece).expect("decode"), b"first second", "piece={piece}");
    }
}

#[test]
fn empty_input_encodes_to_a_valid_member() {
    let compressed = encode(b"", 1);
    assert!(!compressed.is_empty());
    assert_eq!(decode(&compressed, 1).expect("decode"), b"");
    assert_eq!(decode(b"", 1).expect("empty file"), b"");
}

#[test]
fn truncated_file_fails() {
    let file = include_bytes!("../testdata/in6.gz");
    for cut in [1, 5, 10, 100, file.len() - 8, file.len() - 1] {
        assert!(matches!(decode(&file[..cut], 7), Err(StageError::InvalidInput(_))), "cut={cut}");
    }
}

#[test]
fn garbage_and_corruption_are_invalid_input() {
    assert!(matches!(decode(b"hello, world", 3), Err(StageError::InvalidInput(_))));
    let file = encode(&sample(3000), 1 << 16);
    for at in [20, file.len() / 2, file.len() - 6] {
        let mut bad = file.clone();
        bad[at] ^= 0x55;
        assert!(matches!(decode(&bad, 512), Err(StageError::InvalidInput(_))), "flip at {at}");
    }
    let mut trailing = file.clone();
    trailing.extend_from_slice(b"junk");
    assert!(matches!(decode(&trailing, 512), Err(StageError::InvalidInput(_))));
}
