import helper_module

result = helper_module.double(21)
print(result)
