from cgcloud.cli import main

main()
