"""make bench's report: a ratio built on a cell that did not measure its server is not a verdict."""

from bench.report import add_ratios, collapsed, targets, uneven_rounds


def cell(server, scenario, c, rps, p99=10.0):
    return {"server": server, "scenario": scenario, "concurrency": c, "rps": rps, "rows_per_s": rps,
            "rows_per_request": 1, "p50_ms": 1.0, "p99_ms": p99, "errors": 0}


def results(ceiling_top):
    rows = [cell("ceiling", "one row", 8, 5600), cell("ceiling", "one row", 32, ceiling_top),
            cell("naive", "iris-mlp", 8, 3500), cell("naive", "iris-mlp", 32, 3600),
            cell("server", "iris-mlp", 8, 3000), cell("server", "iris-mlp", 32, 3100)]
    add_ratios(rows)
    return rows


def test_a_ceiling_that_collapsed_at_the_top_concurrency_makes_its_target_a_question_not_a_pass():
    rows = results(ceiling_top=2200)  # 39% of its c=8 rate: connections piled on one worker
    assert collapsed(rows, "ceiling", "one row", 32) == "ceiling fell to 2,200 req/s at c=32 from 5,600 at c=8"
    lines = targets(rows, [8, 32]).splitlines()
    ceiling = next(line for line in lines if "ceiling" in line)
    assert ceiling.startswith("- [?]") and "not a measurement" in ceiling and "1.41×" in ceiling
    naive = next(line for line in lines if "1.5× the naive app" in line)
    assert naive.startswith("- [ ]")  # 0.86×: both cells sound, a plain miss


def test_sound_cells_give_a_verdict():
    rows = results(ceiling_top=5500)
    assert collapsed(rows, "ceiling", "one row", 32) is None
    ceiling = next(line for line in targets(rows, [8, 32]).splitlines() if "ceiling" in line)
    assert ceiling.startswith("- [ ]") and "not a measurement" not in ceiling


def access_log(on, off):
    median = sorted(on)[1], sorted(off)[1]
    return {"on_rps": median[0], "off_rps": median[1], "cost": 1 - median[0] / median[1], "rounds": 3,
            "concurrency": 32, "on": on, "off": off}


def test_access_log_rounds_with_a_collapsed_round_are_a_question_not_a_pass():
    log = access_log(on=[3242, 1307, 3180], off=[1376, 1299, 3128])  # two log-off rounds piled on one worker
    assert uneven_rounds(log) == "a log-off round fell to 1,299 req/s from a log-on round's 3,242"
    line = next(line for line in targets([], [32], {"access_log": log}).splitlines() if "access log" in line)
    assert line.startswith("- [?]") and "-131.1%" in line


def test_even_access_log_rounds_give_a_verdict():
    log = access_log(on=[3000, 3050, 2990], off=[3200, 3150, 3230])
    assert uneven_rounds(log) is None
    line = next(line for line in targets([], [32], {"access_log": log}).splitlines() if "access log" in line)
    assert line.startswith("- [x]")
