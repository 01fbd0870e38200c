"""`wasmfn package`'s SAM templates are valid CloudFormation: cfn-lint, the
linter AWS publishes, passes them, for the whole service and for
per-function packages. (For arm64, given no bootstrap: the templates are
the same and the zips are written fast. The arm64 bootstrap itself runs
under qemu-user in tests/all/lambda.rs.)"""

import subprocess
import sys
import zipfile

from conftest import ROOT, wasmfn_binary

CFN_LINT = "import sys; from cfnlint.runner import main; sys.exit(main())"


def package(tmp_path, *args):
    out = tmp_path / "dist"
    subprocess.run(
        [wasmfn_binary(), "--cache-dir", str(tmp_path / "cache"), "package",
         "--manifest", str(ROOT / "serverless.yml"), "--out", str(out), *args],
        check=True, cwd=ROOT, capture_output=True,
    )
    return out


def cfn_lint(template):
    run = subprocess.run([sys.executable, "-c", CFN_LINT, str(template)],
                         capture_output=True, text=True)
    assert run.returncode == 0, f"cfn-lint on {template}:\n{run.stdout}{run.stderr}"


def test_per_function_packages_hold_one_function_and_their_template_lints(tmp_path):
    out = package(tmp_path, "--arch", "arm64", "--function", "hello", "--function", "api")
    template = (out / "template-arm64.yaml").read_text()
    cfn_lint(out / "template-arm64.yaml")
    assert template.count("AWS::Serverless::Function") == 2, template
    assert "CodeUri: wasmfn-examples-hello-arm64.zip" in template, template
    assert "CodeUri: wasmfn-examples-api-arm64.zip" in template, template
    names = zipfile.ZipFile(out / "wasmfn-examples-hello-arm64.zip").namelist()
    assert "functions/hello.wasm" in names and "functions/api.wasm" not in names, names


def test_the_whole_service_template_lints(tmp_path):
    out = package(tmp_path, "--arch", "arm64")
    template = (out / "template-arm64.yaml").read_text()
    cfn_lint(out / "template-arm64.yaml")
    assert template.count("CodeUri: wasmfn-examples-arm64.zip") == 9, template
