"""The shipped CI templates: valid against their published schemas, and their commands
run as the CI would, in a real git repository (an ``origin`` remote, a branch with a
changed form, the job's shell steps in order).

What is not run here: the steps that are GitHub's own actions (checkout, setup-python,
SARIF upload) and ``pip install``. The comment-posting steps run their own logic
against stand-ins — the github-script under node with a stand-in Octokit client, GitLab's
note line against a stand-in notes endpoint on 127.0.0.1 — which checks the templates'
find-and-update logic, not GitHub or GitLab. The
cloud steps (plan, apply, enforce) run with a clouds.yaml written from the "secret"
exactly as the templates do, pointing at a closed port on 127.0.0.1: they must fail
with cgcloud's cloud error (exit 1), never a usage error or a traceback, and the
secret must not be printed. plan/apply/enforce against a real cloud are covered by
tests/integration."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.gitops.conftest import NP, ROOT, Repo, _env

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install -e '.[dev]')")
pytest.importorskip(
    "check_jsonschema", reason="check-jsonschema is not installed (pip install -e '.[dev]')"
)

GITHUB = ROOT / "templates/ci/github-workflow.yml"
GITLAB = ROOT / "templates/ci/gitlab-ci.yml"
SECRET = "s3cret-for-template-test"


@pytest.mark.parametrize(
    ("template", "schema"), [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")]
)
def test_template_matches_published_schema(template: Path, schema: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(template)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "wf.yml"
    bad.write_text(
        GITHUB.read_text(encoding="utf-8").replace("runs-on:", "runs_on:"), encoding="utf-8"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ci(repo: Repo, tmp_path: Path) -> dict[str, Any]:
    """The pull request's branch with a changed form, an origin remote, a cgcloud on PATH
    that is this source tree, and the CI's secret store."""
    repo.replace(NP, "port: TCP443, note: 市民访问门户}", "port: TCP443、8443, note: 市民访问门户}")
    repo.commit("门户加开 8443")
    repo.git("remote", "add", "origin", str(repo.path))
    repo.git("fetch", "-q", "origin")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "cgcloud"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cgcloud "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    clouds = (
        "clouds:\n  ci-test:\n    auth:\n"
        f"      auth_url: http://127.0.0.1:{_closed_port()}/v3\n"
        f"      username: ci\n      password: {SECRET}\n      project_name: p\n"
        "      user_domain_name: Default\n      project_domain_name: Default\n"
    )
    env = _env()
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        OS_CLOUD="ci-test",
        OS_CLIENT_CONFIG_FILE=str(tmp_path / "clouds.yaml"),
        CLOUDS_YAML=clouds,
        GITHUB_OUTPUT=str(tmp_path / "github_output"),
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CGCLOUD_CLOUD="ci-test",
        BASE="origin/main",
    )
    return {"repo": repo, "env": env, "tmp": tmp_path}


def _run(
    script: str, ci: dict[str, Any], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=ci["repo"].path,
        env={**ci["env"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _github_steps(job: str) -> list[dict[str, Any]]:
    wf = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return [
        s for s in wf["jobs"][job]["steps"] if "run" in s and not s["run"].startswith("pip install")
    ]


def _outputs(ci: dict[str, Any]) -> str:
    p = Path(ci["env"]["GITHUB_OUTPUT"])
    return p.read_text(encoding="utf-8") if p.exists() else ""


def test_github_review_job(ci: dict[str, Any]) -> None:
    steps = {s["name"]: s for s in _github_steps("review")}
    assert set(steps) == {
        "validate",
        "semantic diff",
        "plan against the cloud (read-only)",
        "comment",
        "fail on validation errors",
    }
    repo = ci["repo"]
    done = _run(steps["validate"]["run"], ci)
    assert done.returncode == 0, done.stderr
    sarif = json.loads((repo.path / "cgcloud.sarif").read_text(encoding="utf-8"))
    rules = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert rules == {"CG405"}  # the changed row kept 审核人1's old signature
    assert "failed=1" in _outputs(ci)
    assert "::error" in done.stdout  # the github annotations of the second line
    done = _run(steps["semantic diff"]["run"], ci)
    assert done.returncode == 0, done.stderr
    assert "changes=1" in _outputs(ci)  # 1: CG405 (an error) — a clean change would be 2
    assert "访问放宽" in (repo.path / "diff.md").read_text(encoding="utf-8")
    done = _run(steps["plan against the cloud (read-only)"]["run"], ci)
    assert done.returncode == 0 and "ConnectFailure" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert not (repo.path / "plan.json").exists()
    assert stat.S_IMODE(os.stat(ci["env"]["OS_CLIENT_CONFIG_FILE"]).st_mode) == 0o600
    done = _run(steps["comment"]["run"], ci)
    assert done.returncode == 0, done.stderr
    body = (repo.path / "comment.md").read_text(encoding="utf-8")
    assert body.startswith("<!-- cgcloud:pr-comment -->") and "| 授权/增加 | 1 |" in body
    done = _run(steps["fail on validation errors"]["run"], ci)
    assert done.returncode == 1


@pytest.mark.parametrize("job", ["apply", "enforce"])
def test_github_cloud_jobs_use_the_secret_store(ci: dict[str, Any], job: str) -> None:
    (step,) = _github_steps(job)
    done = _run(step["run"], ci)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "错误" in done.stderr and "ci-test" in done.stderr and "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr


def _gitlab_script(job: str) -> str:
    ci = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    lines = [ln for ln in ci[job]["script"] if not ln.lstrip().startswith("python3 -c")]
    return "\n".join(lines)


def test_gitlab_validate_job_writes_a_code_quality_report(ci: dict[str, Any]) -> None:
    done = _run(_gitlab_script("validate"), ci)
    assert done.returncode == 1  # `test ! -e validate.failed`: the job fails on CG405
    report = json.loads(
        (ci["repo"].path / "gl-code-quality-report.json").read_text(encoding="utf-8")
    )
    assert [i["check_name"] for i in report] == ["CG405"]
    issue = report[0]
    assert issue["severity"] == "major" and issue["location"]["path"] == NP
    assert len(issue["fingerprint"]) == 64


def test_gitlab_review_job_writes_the_note(ci: dict[str, Any]) -> None:
    done = _run(_gitlab_script("review"), ci)
    assert done.returncode == 0, done.stderr
    repo = ci["repo"]
    assert "diff exit 1" in done.stdout
    assert "访问放宽" in (repo.path / "diff.md").read_text(encoding="utf-8")
    assert (
        (repo.path / "comment.md")
        .read_text(encoding="utf-8")
        .startswith("<!-- cgcloud:pr-comment -->")
    )
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize("job", ["apply", "enforce"])
def test_gitlab_cloud_jobs(ci: dict[str, Any], job: str) -> None:
    Path(ci["env"]["OS_CLIENT_CONFIG_FILE"]).write_text(ci["env"]["CLOUDS_YAML"], encoding="utf-8")
    done = _run(_gitlab_script(job), ci)
    assert done.returncode == 1 and "错误" in done.stderr and "ci-test" in done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stdout + done.stderr


def test_a_clean_change_exits_2_for_ci(ci: dict[str, Any]) -> None:
    repo = ci["repo"]
    repo.replace(
        NP,
        "cloud_resource_manager: {by: 钱七, date: 2026-11-20}",
        "cloud_resource_manager: {by: 钱七, date: 2026-11-27}",
    )
    repo.commit("审核人1 重新签字")
    steps = {s["name"]: s for s in _github_steps("review")}
    assert _run(steps["semantic diff"]["run"], ci).returncode == 0
    assert "changes=2" in _outputs(ci)
    assert _run(steps["validate"]["run"], ci).returncode == 0
    assert "failed=1" not in _outputs(ci)


class _Notes(http.server.BaseHTTPRequestHandler):
    """A stand-in for GitLab's merge-request notes endpoint on 127.0.0.1: enough to check
    the template's own logic (find the note that starts with the marker, update it, else
    create one) — not GitLab itself."""

    notes: list[dict[str, Any]] = []
    tokens: list[str] = []

    def _reply(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self.tokens.append(self.headers.get("PRIVATE-TOKEN", ""))
        self._reply(200, self.notes)

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.notes.append({"id": len(self.notes) + 1, "body": body["body"]})
        self._reply(201, self.notes[-1])

    def do_PUT(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        note_id = int(self.path.rsplit("/", 1)[1])
        for n in self.notes:
            if n["id"] == note_id:
                n["body"] = body["body"]
        self._reply(200, {"id": note_id})

    def log_message(self, *args: Any) -> None:
        pass


def test_gitlab_review_job_keeps_one_note(ci: dict[str, Any]) -> None:
    _Notes.notes = [{"id": 1, "body": "a reviewer's own note"}]
    _Notes.tokens = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Notes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        script = "\n".join(yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["review"]["script"])
        env = {
            "CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4",
            "CI_PROJECT_ID": "7",
            "CI_MERGE_REQUEST_IID": "3",
            "CGCLOUD_GITLAB_TOKEN": "glpat-test-token",
            "NO_PROXY": "127.0.0.1",
        }
        for _push in range(2):  # two pushes to the merge request: still one cgcloud note
            done = _run(script, ci, env)
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        server.shutdown()
        thread.join(timeout=10)
    bodies = [n["body"] for n in _Notes.notes]
    assert bodies[0] == "a reviewer's own note"
    assert len(bodies) == 2 and bodies[1].startswith("<!-- cgcloud:pr-comment -->")
    assert set(_Notes.tokens) == {"glpat-test-token"}


NODE_HARNESS = """
const fs = require('fs');
const state = JSON.parse(fs.readFileSync(process.env.STATE, 'utf8'));
const github = {
  paginate: async (fn, args) => fn(args),
  rest: { issues: {
    listComments: (args) => state.comments,
    updateComment: async ({ comment_id, body }) => {
      state.comments.find(c => c.id === comment_id).body = body;
    },
    createComment: async ({ body }) => { state.comments.push({ id: state.comments.length + 1, body }); },
  } },
};
const context = { repo: { owner: 'o', repo: 'r' }, issue: { number: 3 } };
(async () => {
SCRIPT
})().then(() => fs.writeFileSync(process.env.STATE, JSON.stringify(state)));
"""


def test_github_comment_script_keeps_one_comment(ci: dict[str, Any]) -> None:
    """The github-script step's own logic under node, with a stand-in for the Octokit
    client (not GitHub): two pushes leave one cgcloud comment next to a reviewer's."""
    if shutil.which("node") is None:
        pytest.skip(
            "node is not installed (GitHub's runners have it; here it only checks the script)"
        )
    wf = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    (step,) = [
        s
        for s in wf["jobs"]["review"]["steps"]
        if s.get("uses", "").startswith("actions/github-script")
    ]
    harness = ci["tmp"] / "harness.js"
    harness.write_text(NODE_HARNESS.replace("SCRIPT", step["with"]["script"]), encoding="utf-8")
    state = ci["tmp"] / "state.json"
    state.write_text(
        json.dumps({"comments": [{"id": 1, "body": "a reviewer's note"}]}), encoding="utf-8"
    )
    repo = ci["repo"]
    for n in range(2):
        (repo.path / "comment.md").write_text(
            f"<!-- cgcloud:pr-comment -->\npush {n}\n", encoding="utf-8"
        )
        done = subprocess.run(
            ["node", str(harness)],
            cwd=repo.path,
            env={**ci["env"], "STATE": str(state)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    comments = json.loads(state.read_text(encoding="utf-8"))["comments"]
    assert [c["body"] for c in comments] == [
        "a reviewer's note",
        "<!-- cgcloud:pr-comment -->\npush 1\n",
    ]
