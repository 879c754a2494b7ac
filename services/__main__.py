import sys

from services.launcher import main

sys.exit(main(sys.argv[1:]))
