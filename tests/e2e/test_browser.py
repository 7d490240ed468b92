"""The MLflow UI as a person sees it: the sample pipeline (train, compare, publish) into a SQLite
store, `mlflow server` on that store, and Chromium (Playwright) on the experiment, a train parent
run, the compare run and the registered model.

Needs Debian's chromium (/usr/bin/chromium; `.ci/run` installs it) and playwright (the dev extra;
never `playwright install`). Without them the test is skipped, and under CI=true it fails.
Screenshots go into the folder FRENK_SCREENSHOTS names, else into the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import mlflow
import pytest

from frenk.config import PublishConfig, TuneConfig
from frenk.team.server import free_port, start_mlflow_server, stop_process, wait_healthy

from ..helpers import compared_store

pytestmark = [pytest.mark.slow, pytest.mark.browser]
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")
EXPERIMENT = "frenk-hr-binary"
NOTE = "mlflow.note.content"  # the Markdown description of a run or an experiment
TIMEOUT_MS = 120_000  # the UI is a large single-page app: slow on a small CI machine
# MLflow's assistant panel opens itself on a first visit and covers a third of every screenshot
CLOSED_ASSISTANT = ("localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');"
                    "localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');")


@pytest.fixture(scope="module")
def browser_available():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[dev]')"
    else:
        reason = "" if CHROMIUM.exists() else f"{CHROMIUM} is missing (apt-get install chromium)"
    if reason and IN_CI:
        pytest.fail(f"{reason}; in CI, .ci/run must install Debian's chromium and the dev extra")
    if reason:
        pytest.skip(f"{reason}: the browser check of the MLflow UI needs both")


@pytest.fixture(scope="module")
def store(browser_available, tmp_path_factory, prepared_sample):
    """tfidf and tiny, three seeds each, compared, tiny published (forced), and a small tune of tiny
    (two trials of its grid, one seed): all through the library. After the browser check (no
    training when it cannot run)."""
    from frenk.steps import publish, tune

    with compared_store(tmp_path_factory.mktemp("browser"), prepared_sample, 3) as state:
        published = publish(PublishConfig(output=str(state["root"] / "hf"), force=True))
        tuned = tune(TuneConfig(model="tiny", data=str(prepared_sample), trials=2, seeds=1))
        yield {**state, "published": published, "tune": tuned}


@pytest.fixture(scope="module")
def server(store):
    """`mlflow server` on the store (its runs' artifacts are absolute paths under root/mlruns)."""
    root = store["root"]
    port, log = free_port(), root / "server.log"
    proc = start_mlflow_server(f"sqlite:///{root}/mlflow.db", root / "mlruns", "127.0.0.1", port, 1, {}, log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, log)
        yield url
    finally:
        stop_process(proc)


def _plain(markdown: str) -> str:
    """Markdown's first line as the page shows it: no emphasis, no code marks, links as their text."""
    line = markdown.strip().splitlines()[0]
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line).replace("**", "").replace("`", "")


def test_the_ui_shows_experiment_descriptions_verdict_and_champion(store, server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("FRENK_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {shots}")
    client = mlflow.MlflowClient()
    parent = client.get_run(store["tiny"].parent_run_id)
    best = client.get_run(store["tiny"].best.run_id)
    compared = client.get_run(store["compare"].run_id)
    experiment = client.get_experiment(parent.info.experiment_id)
    assert experiment.name == EXPERIMENT  # one experiment per language and label scheme, not "Default"
    champion = client.get_model_version_by_alias("frenk-hr", "champion")
    report = Path(mlflow.artifacts.download_artifacts(run_id=compared.info.run_id, artifact_path="report.md"))
    title = report.read_text().splitlines()[0].lstrip("# ")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.add_init_script(CLOSED_ASSISTANT)

            # the experiment's runs (the classic view: its plain route opens the GenAI overview)
            page.goto(f"{server}/#/experiments/{experiment.experiment_id}/runs?workflowType=machine_learning")
            expect(page.get_by_role("link", name=parent.info.run_name, exact=True)).to_be_visible()
            expect(page.get_by_role("link", name=compared.info.run_name, exact=True)).to_be_visible()
            page.screenshot(path=shots / "experiment.png")
            expect(page.get_by_test_id("experiment-link")).to_have_text(EXPERIMENT)
            assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
            expect(page.get_by_text(_plain(experiment.tags[NOTE])).first).to_be_visible()  # its description

            # the train parent: mean ± sd, and the best seed's run as a link to it
            page.goto(f"{server}/#/experiments/{experiment.experiment_id}/runs/{parent.info.run_id}")
            description = page.get_by_test_id("note-editor-preview-content")
            expect(description).to_contain_text(" ± ")
            best_link = description.get_by_role("link", name=best.info.run_name, exact=True)
            # in the machine-learning views (MLflow 3.17 opens a plain link in the GenAI ones)
            expect(best_link).to_have_attribute("href", re.compile(f"/runs/{best.info.run_id}"
                                                                  r"\?workflowType=machine_learning$"))
            # the best seed's run among the child runs too (and the page done loading for the screenshot)
            expect(page.get_by_role("link", name=best.info.run_name, exact=True)).to_have_count(2)
            page.screenshot(path=shots / "train-parent-run.png")

            # the best seed's metrics: a few charts in sections named by their prefix (val/, test/, ...)
            page.goto(f"{server}/#/experiments/{experiment.experiment_id}/runs/{best.info.run_id}/model-metrics")
            for section in ("test", "train", "val"):  # a section header is its prefix alone
                expect(page.get_by_text(section, exact=True).first).to_be_visible()
            expect(page.get_by_text("macro_f1", exact=True).first).to_be_visible()  # charts named without it
            expect(page.get_by_text("check", exact=True)).to_have_count(0)  # the reload check is a tag
            page.screenshot(path=shots / "seed-run-metrics.png")

            # the compare run: its verdict, and its report read through the server's artifacts
            page.goto(f"{server}/#/experiments/{compared.info.experiment_id}/runs/{compared.info.run_id}")
            verdict = _plain(compared.data.tags[NOTE])
            expect(page.get_by_test_id("note-editor-preview-content")).to_contain_text(verdict)
            page.screenshot(path=shots / "compare-run.png")
            # its statistics chart across compare runs: a section per pair and metric, in the ML views
            assert any(m.startswith("compare/") for m in compared.data.metrics), compared.data.metrics
            page.goto(f"{server}/#/experiments/{compared.info.experiment_id}/runs/{compared.info.run_id}/model-metrics"
                      "?workflowType=machine_learning")
            expect(page.get_by_text(re.compile(r"^compare/macro_f1/tfidf_vs_tiny")).first).to_be_visible()
            expect(page.get_by_text("difference", exact=True).first).to_be_visible()
            expect(page.get_by_text("Evaluations", exact=True)).to_have_count(0)  # not the GenAI views' breadcrumb
            page.screenshot(path=shots / "compare-metrics.png")
            page.goto(f"{server}/#/experiments/{compared.info.experiment_id}/runs/{compared.info.run_id}/artifacts")
            page.get_by_text("report.md", exact=True).click()
            expect(page.get_by_role("heading", name=title)).to_be_visible()
            page.screenshot(path=shots / "compare-report.png")

            # the tune parent: what the search found, in its description, in the machine-learning views
            tuned = client.get_run(store["tune"].run_id)
            page.goto(f"{server}/#/experiments/{tuned.info.experiment_id}/runs/{tuned.info.run_id}"
                      "?workflowType=machine_learning")
            expect(page.get_by_test_id("note-editor-preview-content")).to_contain_text(_plain(tuned.data.tags[NOTE]))
            expect(page.get_by_text("Evaluations", exact=True)).to_have_count(0)  # not the GenAI views' breadcrumb
            page.screenshot(path=shots / "tune-parent-run.png")

            # the registered model: the champion alias on the champion's version
            page.goto(f"{server}/#/models/frenk-hr")
            row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"Version {champion.version}",
                                                                         exact=True))
            expect(row.get_by_text(re.compile(r"^@\s*champion$"))).to_be_visible()
            page.screenshot(path=shots / "registered-model.png")
        finally:
            browser.close()
