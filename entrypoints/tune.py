"""`mlflow run . -e tune`: options -> TuneConfig -> frenk.steps.tune."""

from frenk.cli import command
from frenk.config import TuneConfig
from frenk.steps import tune

main = command(TuneConfig, tune)

if __name__ == "__main__":
    main()
