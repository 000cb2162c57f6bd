from setuptools import setup

# Metadata lives in pyproject.toml; setup.py stays for CKAN's tooling
# (``pip install -e .`` and Babel's message extraction).
setup(
    message_extractors={
        "ckanext": [
            ("**.py", "python", None),
            ("**.js", "javascript", None),
            ("**/templates/**.html", "ckan", None),
        ],
    },
)
