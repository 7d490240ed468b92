"""`mlflow run . -e publish`: not implemented yet."""

import sys

if __name__ == "__main__":
    print("frenk: error: the publish step is not implemented yet", file=sys.stderr)
    sys.exit(2)
