"""`mlflow run . -e evaluate`: options -> EvaluateConfig -> frenk.steps.evaluate."""

from frenk.cli import command
from frenk.config import EvaluateConfig
from frenk.steps import evaluate

main = command(EvaluateConfig, evaluate)

if __name__ == "__main__":
    main()
