"""`mlflow run . -e train`: options -> TrainConfig -> frenk.steps.train."""

from frenk.cli import command
from frenk.config import TrainConfig
from frenk.steps import train

main = command(TrainConfig, train)

if __name__ == "__main__":
    main()
