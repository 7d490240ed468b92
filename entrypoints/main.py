"""`mlflow run . -e main`: options -> MainConfig -> frenk.steps.main."""

from frenk.cli import command
from frenk.config import MainConfig
from frenk.steps import main as run_main

main = command(MainConfig, run_main)

if __name__ == "__main__":
    main()
