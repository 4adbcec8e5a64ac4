import os

os.makedirs("elsewhere", exist_ok=True)
os.chdir("elsewhere")
print(os.path.basename(os.getcwd()))
