"""`mlflow run . -e train`: not implemented yet."""

import sys

if __name__ == "__main__":
    print("frenk: error: the train step is not implemented yet", file=sys.stderr)
    sys.exit(2)
