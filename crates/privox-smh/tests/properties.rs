//! Property tests: Hamming distance invariants, packing, hashing and file round trips.

use privox_format::Fingerprint;
use privox_smh::{
    CodeSpace, CodeTable, Codes, SmhError, SmhKey, SmhParams, hamming_counts,
    hamming_counts_symmetric,
};
use proptest::prelude::*;

fn space(k: u32, mpc: usize, dim: usize) -> CodeSpace {
    CodeSpace {
        params: SmhParams::new(k, 1.0, mpc, dim).unwrap(),
        key_id: Fingerprint::of(b"proptest"),
    }
}

/// (k, M-shape, n, symbols) with every symbol below k.
fn code_sets() -> impl Strategy<Value = (u32, usize, usize, Vec<u32>)> {
    (2u32..=12, 1usize..=3, 1usize..=50, 1usize..=6).prop_flat_map(|(k, mpc, dim, n)| {
        let m = mpc * dim;
        (
            Just(k),
            Just(mpc),
            Just(dim),
            proptest::collection::vec(0..k, n * m),
        )
            .prop_map(move |(k, mpc, dim, s)| (k, mpc * 1000 + dim, n, s))
    })
}

fn build(k: u32, shape: usize, syms: &[u32]) -> Codes {
    Codes::from_symbols(space(k, shape / 1000, shape % 1000), syms).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hamming_is_symmetric_bounded_and_zero_on_identity((k, shape, n, syms) in code_sets()) {
        let codes = build(k, shape, &syms);
        let m = codes.symbols();
        let h = hamming_counts_symmetric(&codes);
        let full = hamming_counts(&codes, &codes).unwrap();
        prop_assert_eq!(h.counts(), full.counts());
        for i in 0..n {
            prop_assert_eq!(h.distance(i, i), Some(0.0));
            for j in 0..n {
                let d = h.distance(i, j).unwrap();
                prop_assert!((0.0..=1.0).contains(&d));
                prop_assert_eq!(d, h.distance(j, i).unwrap());
                // Packed XOR/OR/popcount equals the unpacked symbol comparison.
                let (a, b) = (codes.unpack(i).unwrap(), codes.unpack(j).unwrap());
                let naive = a.iter().zip(&b).filter(|(x, y)| x != y).count();
                prop_assert_eq!(h.counts()[i * n + j] as usize, naive);
                prop_assert_eq!(codes.distance(i, &codes, j).unwrap(), naive as f64 / m as f64);
            }
        }
    }

    #[test]
    fn packing_round_trips((k, shape, n, syms) in code_sets()) {
        let codes = build(k, shape, &syms);
        let m = codes.symbols();
        for i in 0..n {
            prop_assert_eq!(codes.unpack(i).unwrap(), syms[i * m..(i + 1) * m].to_vec());
        }
        let table = CodeTable::new(codes.clone(), vec![], vec![], vec![]).unwrap();
        prop_assert_eq!(CodeTable::from_bytes(&table.to_bytes()).unwrap().codes, codes);
    }

    #[test]
    fn code_file_corruption_is_a_typed_error((k, shape, _n, syms) in code_sets(), pos in any::<usize>(), bit in 0u8..8) {
        let bytes = CodeTable::new(build(k, shape, &syms), vec![], vec![], vec![]).unwrap().to_bytes();
        let mut bad = bytes.clone();
        let p = pos % bad.len();
        bad[p] ^= 1 << bit;
        let bad_is_format_error = matches!(CodeTable::from_bytes(&bad), Err(SmhError::Format { .. }));
        prop_assert!(bad_is_format_error);
        let cut_is_format_error = matches!(CodeTable::from_bytes(&bytes[..pos % bytes.len()]), Err(SmhError::Format { .. }));
        prop_assert!(cut_is_format_error);
    }

    #[test]
    fn identical_inputs_give_identical_codes(
        k in 2u32..=10, delta in 0.1f64..5.0, mpc in 1usize..=4, seed in any::<u64>(),
        row in proptest::collection::vec(-3.0f64..3.0, 1..20),
    ) {
        let dim = row.len();
        let key = SmhKey::generate_with_seed(SmhParams::new(k, delta, mpc, dim).unwrap(), seed);
        let mut batch = row.clone();
        batch.extend_from_slice(&row);
        let codes = key.hash_rows(&batch).unwrap();
        prop_assert_eq!(codes.distance(0, &codes, 1).unwrap(), 0.0);
        // Batch hashing equals one-by-one hashing.
        let one = key.hash_one(&row).unwrap();
        prop_assert_eq!(codes.unpack(0).unwrap(), one.unpack(0).unwrap());
        prop_assert!(codes.unpack(0).unwrap().iter().all(|&s| s < k));
    }

    #[test]
    fn key_file_round_trip_preserves_hashes(
        k in 2u32..=10, delta in 0.1f64..5.0, seed in any::<u64>(),
        row in proptest::collection::vec(-1.0f64..1.0, 1..12),
    ) {
        let key = SmhKey::generate_with_seed(SmhParams::new(k, delta, 2, row.len()).unwrap(), seed);
        let back = SmhKey::from_bytes(&key.to_bytes()).unwrap();
        prop_assert_eq!(back.key_id(), key.key_id());
        prop_assert_eq!(back.hash_one(&row).unwrap(), key.hash_one(&row).unwrap());
    }

    #[test]
    fn hamming_obeys_the_triangle_inequality((k, shape, n, syms) in code_sets()) {
        let codes = build(k, shape, &syms);
        let h = hamming_counts_symmetric(&codes);
        let c = |i: usize, j: usize| h.counts()[i * n + j];
        for a in 0..n {
            for b in 0..n {
                for d in 0..n {
                    prop_assert!(c(a, d) <= c(a, b) + c(b, d));
                }
            }
        }
    }
}
