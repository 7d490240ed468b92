"""``frenk-recover --folder <folder>``: log a training whose tracking server went down (see
:mod:`frenk.tracking.outage`) to its runs once the server is back."""

from ..cli import command
from ..config import RecoverConfig
from .train_recovery import recover

main = command(RecoverConfig, recover)

if __name__ == "__main__":
    main()
