print("logferry")
