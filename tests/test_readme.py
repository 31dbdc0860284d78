"""The README's API tour runs as written (so the documentation cannot drift from the code)."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
  blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
  assert blocks, "README.md has no python block"
  for block in blocks:
    exec(compile(block, str(README), "exec"), {})  # pylint: disable=exec-used
