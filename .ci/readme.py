"""README.md is generated from nbs/index.ipynb (the front page): markdown cells as they are, code cells as ```python blocks.
`python .ci/readme.py` writes README.md; `--check` fails if README.md differs (CI runs it). nbdev_readme needs Quarto, which
this project cannot install; this is the same rendering without outputs. Cells starting with `#| hide` are left out."""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def render(nb:Path) -> str:
    "The README text of notebook `nb`."
    parts = []
    for c in json.loads(nb.read_text())['cells']:
        src = ''.join(c['source']).strip('\n')
        if not src or src.startswith('#| hide'): continue
        if c['cell_type'] == 'code':
            src = '\n'.join(l for l in src.split('\n') if not l.startswith('#|'))
            src = f'```python\n{src}\n```'
        parts.append(src)
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, readme = render(root/'nbs'/'index.ipynb'), root/'README.md'
    if '--check' in sys.argv[1:]:
        if readme.read_text() != text:
            sys.exit('README.md is not what nbs/index.ipynb renders to: edit nbs/index.ipynb, then run python .ci/readme.py')
        print('README.md matches nbs/index.ipynb')
    else:
        readme.write_text(text); print(f'wrote {readme}')
