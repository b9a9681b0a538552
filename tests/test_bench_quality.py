"""bench_quality: curves of several seeds summarised (mean, sd), the target found at the first
point that meets every part of it, a configuration's own --steps honoured, JSON and PNG written."""

import importlib.util
import json
import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_quality.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_quality", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _point(step, match, beak, all4, cpu):
    return {"event": "eval", "step": step, "cpu_minutes": cpu, "per_attribute": match, "all_correct": all4,
            "by_attribute": {"crown": 0.95, "wing": 0.95, "belly": 0.95, "beak": beak},
            "facing_left_share": 0.5, "background_spread_delta_e": 25.0, "frechet_judge": 50.0,
            "frechet_judge_floor": 10.0}


def _write_run(folder: Path, points) -> None:
    folder.mkdir(parents=True)
    (folder / "log.jsonl").write_text("".join(json.dumps(p) + "\n" for p in points) + "not json\n")


def test_collect_only_summarises_seeds_and_finds_the_target(tmp_path, capsys):
    bq = _load()
    runs, report = tmp_path / "runs", tmp_path / "report"
    # fast: step 100 misses on the beak, step 200 misses all-four, step 300 meets everything
    for seed, shift in ((0, 0.0), (1, 0.02)):
        _write_run(runs / f"fast_seed{seed}", [_point(100, 0.92 + shift, 0.80, 0.7, 1.0),
                                               _point(200, 0.92 + shift, 0.90, 0.5, 2.0),
                                               _point(300, 0.92 + shift, 0.90, 0.7, 3.0)])
    _write_run(runs / "slow_seed0", [_point(100, 0.3, 0.5, 0.0, 0.5)])  # only one seed ran
    text = tmp_path / "text"
    text.mkdir()
    (text / "log.jsonl").write_text(json.dumps({"cpu_s": 120.0}) + "\n")
    code = bq.main(["--data", "unused", "--text-encoder", str(text), "--runs", str(runs),
                    "--report", str(report), "--config", "fast=--recipe fast",
                    "--config", "slow=--recipe paper --steps 100", "--seeds", "0", "1", "--collect-only"])
    assert code == 0
    result = json.loads((report / "quality.json").read_text())
    assert (report / "quality.png").stat().st_size > 0
    fast = result["configs"]["fast"]["summary"]
    assert [p["step"] for p in fast["points"]] == [100, 200, 300]
    assert abs(fast["points"][0]["per_attribute"] - 0.93) < 1e-9
    assert abs(fast["points"][0]["per_attribute_sd"] - 0.0141) < 1e-3
    assert fast["points"][0]["cpu_minutes_from_scratch"] == 3.0  # φ's 2 CPU-minutes added
    assert fast["target"]["reached_at_step"] == 300
    assert result["configs"]["slow"]["summary"]["seeds"] == [0]
    assert result["configs"]["slow"]["summary"]["target"]["reached_at_step"] is None
    assert "reached at step 300" in capsys.readouterr().out


def test_a_configuration_may_set_its_own_length():
    bq = _load()
    args = bq.parse_args(["--data", "d", "--text-encoder", "t", "--steps", "5000"])
    assert bq.run_steps(args, "--recipe paper --steps 2500") == 2500
    assert bq.run_steps(args, "--recipe fast") == 5000
    cmd = bq.train_command(args, "paper", "--recipe paper --steps 2500", 0)
    assert cmd[len(cmd) - 1 - cmd[::-1].index("--steps") + 1] == "2500"  # the last --steps wins
