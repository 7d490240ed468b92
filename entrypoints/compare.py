"""`mlflow run . -e compare`: options -> CompareConfig -> frenk.steps.compare."""

from frenk.cli import command
from frenk.config import CompareConfig
from frenk.steps import compare

main = command(CompareConfig, compare)

if __name__ == "__main__":
    main()
