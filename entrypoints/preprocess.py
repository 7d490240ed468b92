"""`mlflow run . -e preprocess`: options -> PreprocessConfig -> frenk.steps.preprocess."""

from frenk.cli import command
from frenk.config import PreprocessConfig
from frenk.steps import preprocess

main = command(PreprocessConfig, preprocess)

if __name__ == "__main__":
    main()
