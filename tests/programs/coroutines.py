import asyncio


async def compute(x):
    await asyncio.sleep(0)
    return x * 2


async def main():
    values = await asyncio.gather(compute(1), compute(2))
    return sum(values)


print(asyncio.run(main()))
