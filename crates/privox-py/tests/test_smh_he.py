"""SMH hashing and the HE client from Python, with the CLI's file formats."""

import os
import stat

import numpy as np
import pytest

import privox
from conftest import demo_files


def scaled_demo_features(n=40):
    x = privox.Smile().process_files(demo_files(n)).to_numpy().astype(np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return 2.0 * (x - lo) / span - 1.0


def test_smh_key_files_round_trip(tmp_path):
    key = privox.SmhKey.generate(k=3, delta=2.0, mpc=8, dim=88)
    path = tmp_path / "k.smhkey"
    key.save(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    back = privox.SmhKey.load(str(path))
    assert (back.k, back.delta, back.mpc, back.dim, back.symbols) == (3, 2.0, 8, 88, 704)
    assert back.key_id == key.key_id
    assert "key_id" in repr(key)
    x = scaled_demo_features(10)
    a, b = key.hash(x), back.hash(x)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    # OS-entropy keys differ; seeded keys are reproducible.
    assert privox.SmhKey.generate(mpc=8).key_id != privox.SmhKey.generate(mpc=8).key_id
    assert privox.SmhKey.generate(mpc=8, seed=5).key_id == privox.SmhKey.generate(mpc=8, seed=5).key_id


def test_hash_distances_leakage_tuning(tmp_path):
    x = scaled_demo_features(40)
    key = privox.SmhKey.generate(k=3, delta=2.0, mpc=32, dim=88, seed=1)
    codes = key.hash(x)
    assert len(codes) == 40 and codes.symbols == 32 * 88
    sym = codes.to_numpy()
    assert sym.shape == (40, 2816) and sym.max() <= 2
    d = privox.normalized_hamming(codes)
    assert d.shape == (40, 40)
    np.testing.assert_allclose(np.diag(d), 0.0)
    # d_H is the share of differing symbols.
    np.testing.assert_allclose(d[0, 1], np.mean(sym[0] != sym[1]))
    one = key.hash(x[3])
    np.testing.assert_allclose(privox.normalized_hamming(one, codes)[0], d[3])
    g = privox.rbf_hamming_gram(codes, gamma=2.0)
    np.testing.assert_allclose(g, np.exp(-2.0 * d**2))
    r = privox.leakage(codes)
    assert r["pairs"] == 40 * 39 // 2 and r["threshold"] == 0.65
    assert r["percent"] == pytest.approx(100 * np.sum(np.triu(d < 0.65, 1)) / r["pairs"])
    t = privox.tune_delta(x, target=28.0, k=3, mpc=32, seed=1)
    assert t["delta"] > 0 and t["predicted_percent"] == pytest.approx(28.0, abs=1.0)
    # Code files: the CLI's format, with metadata columns.
    p = tmp_path / "codes.pvx"
    codes.save(str(p), files=[f"f{i}" for i in range(40)])
    back = privox.Codes.load(str(p))
    assert back.files[3] == "f3" and back.labels == []
    np.testing.assert_array_equal(back.to_numpy(), sym)


def test_smh_bad_input():
    key = privox.SmhKey.generate(mpc=4, dim=88, seed=1)
    x = np.zeros((2, 88))
    x[1, 7] = np.nan
    with pytest.raises(privox.FeatureError, match="feature 7 of row 1 is NaN"):
        key.hash(x)
    with pytest.raises(privox.FeatureError, match="88"):
        key.hash(np.zeros((2, 10)))
    with pytest.raises(privox.FeatureError):
        key.hash(np.zeros((2, 2, 88)))
    with pytest.raises(ValueError):
        privox.SmhKey.generate(k=1)


def test_key_files_of_the_wrong_kind(tmp_path, model_path):
    smh = tmp_path / "k.smhkey"
    privox.SmhKey.generate(mpc=4, seed=1).save(str(smh))
    client = privox.HeClient(model_path)
    sk_path, evk_path = client.keygen_files(str(tmp_path / "alice"), seed=3)
    # An HE secret key given as an SMH key, and the other way round.
    with pytest.raises(privox.KeyFormatError, match="SMH key"):
        privox.SmhKey.load(sk_path)
    with pytest.raises(privox.KeyFormatError):
        client.load_secret_key(str(smh))
    # Code and model files are not keys either.
    with pytest.raises(privox.KeyFormatError):
        privox.SmhKey.load(model_path)
    with pytest.raises(privox.FileFormatError):
        privox.Codes.load(str(smh))
    with pytest.raises(privox.FileFormatError):
        privox.HeClient(str(smh))
    assert issubclass(privox.KeyFormatError, privox.FileFormatError)
    assert issubclass(privox.FileFormatError, privox.PrivoxError)


def test_he_round_trip_matches_the_plaintext_model(tmp_path, model_path):
    df = privox.Smile().process_files(demo_files(6))
    x = df.to_numpy().astype(np.float64)
    client = privox.HeClient(model_path, packing="single")
    assert client.feature_names == list(df.columns)
    assert client.class_names == ["neutral", "angry"]
    sk, evk = client.keygen()
    assert isinstance(evk, bytes) and len(evk) > 1000
    assert repr(sk) == "HeSecretKey(<secret>)"
    # The secret key round trips through the CLI's file format (0600).
    client.save_secret_key(sk, str(tmp_path / "a.sk"))
    assert stat.S_IMODE(os.stat(tmp_path / "a.sk").st_mode) == 0o600
    sk2 = client.load_secret_key(str(tmp_path / "a.sk"))
    query = client.encrypt(sk2, x)
    server = privox.HeServer(model_path, evk, packing="single")
    response = server.infer(query)
    logits = client.decrypt(sk, response)
    plain = client.plaintext_logits(x)
    assert logits.shape == plain.shape == (6, 2)
    np.testing.assert_allclose(logits, plain, atol=0.05)
    np.testing.assert_array_equal(logits.argmax(axis=1), plain.argmax(axis=1))
    # Bytes are the CLI's files: the query written and read back as a file works the same.
    (tmp_path / "q.pvxq").write_bytes(query)
    assert server.infer((tmp_path / "q.pvxq").read_bytes())[:8] == response[:8]


def test_he_bad_input(tmp_path, model_path):
    client = privox.HeClient(model_path)
    sk, evk = client.keygen(seed=1)
    x = np.zeros((1, 88))
    x[0, 3] = np.inf
    with pytest.raises(privox.FeatureError):
        client.encrypt(sk, x)
    with pytest.raises(privox.FeatureError):
        client.encrypt(sk, np.zeros((1, 5)))
    with pytest.raises(privox.FileFormatError):
        client.decrypt(sk, b"garbage bytes")
    with pytest.raises(privox.FileFormatError):
        privox.HeServer(model_path, evk[: len(evk) // 2])
    with pytest.raises(ValueError, match="packing"):
        privox.HeClient(model_path, packing="diagonal")
    # A batch-packing client refuses single-packing keys' queries.
    other = privox.HeClient(model_path, packing="batch")
    q = client.encrypt(sk, np.zeros((1, 88)))
    server = privox.HeServer(model_path, evk, packing="single")
    with pytest.raises(privox.PrivoxError):
        other.decrypt(sk, server.infer(q))
