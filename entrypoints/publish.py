"""`mlflow run . -e publish`: options -> PublishConfig -> frenk.steps.publish."""

from frenk.cli import command
from frenk.config import PublishConfig
from frenk.steps import publish

main = command(PublishConfig, publish)

if __name__ == "__main__":
    main()
